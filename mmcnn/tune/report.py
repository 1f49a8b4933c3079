"""What a search leaves in TUNE_DIR: `best.toml` and `report/` (`trials.csv`, `trials.png`, `index.html`).

Everything here reads the trial folders on disk (KerasTuner's `trial.json` and
mmcnn's `mmcnn_trial.json`), so the files describe every trial of the search,
whichever call ran it.
"""

import csv
import glob
import html
import json
import math
import os

# Settings that are top-level options of `mmcnn train` (and of its --config file); the rest
# are classifier arguments, its [classifier] table.
TOP_LEVEL = ("preset", "epochs", "batch_size")
_DPI = 100


def _trial_number(trial_id):
    try:
        return int(trial_id)
    except ValueError:
        return math.inf


def read_trials(project_dir, record_name="mmcnn_trial.json"):
    """Every trial of a search, in the order it was created: dicts with `trial_id`, `status`,
    `values` (its knob values) and, when it finished, mmcnn's record (`val_accuracy`,
    `val_macro_f1`, `train_seconds`, `epochs_run`, `settings`, `stopped_by_budget`)."""
    trials = []
    for path in glob.glob(os.path.join(project_dir, "trial_*", "trial.json")):
        with open(path, encoding="utf-8") as f:
            state = json.load(f)
        row = {
            "trial_id": state["trial_id"],
            "status": state.get("status"),
            "values": (state.get("hyperparameters") or {}).get("values") or {},
        }
        record = os.path.join(os.path.dirname(path), record_name)
        if os.path.isfile(record) and row["status"] == "COMPLETED":
            with open(record, encoding="utf-8") as f:
                row.update(json.load(f))
        trials.append(row)
    trials.sort(key=lambda t: (_trial_number(t["trial_id"]), t["trial_id"]))
    for number, trial in enumerate(trials, 1):
        trial["number"] = number  # what the log, the table and the plot call it
    return trials


def finished(trials):
    return [t for t in trials if "val_accuracy" in t]


def best_trial(trials):
    """The finished trial of highest validation accuracy; ties go to the higher macro-F1, then the faster."""
    done = finished(trials)
    if not done:
        return None
    return min(done, key=lambda t: (-t["val_accuracy"], -t["val_macro_f1"], t["train_seconds"]))


# ------------------------------------------------------------------ best.toml
def _toml_value(value, where):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{where}: {value} cannot be written to TOML")
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v, where) for v in value) + "]"
    raise ValueError(f"{where}: cannot write {type(value).__name__} {value!r} to TOML")


def best_settings(trial, search):
    """The classifier arguments `best.toml` recommends: the trial's, except Hyperband's epochs.

    Hyperband ranks settings by shorter runs (a trial's epochs are its share of
    the budget, not a schedule to keep): the best settings then train with the
    fixed `epochs` if one was given, else with their preset's own schedule."""
    settings = {k: v for k, v in trial["settings"].items() if v is not None}
    if search["algorithm"] == "hyperband":
        settings.pop("epochs", None)
        if search["fixed"].get("epochs") is not None:
            settings["epochs"] = search["fixed"]["epochs"]
    return settings


def weak_result_warnings(trial, search):
    """Why the best trial's settings may be no better than a guess: a list of sentences (often empty).

    At or below chance (validation accuracy <= 1 / the number of classes), and
    a search with only one finished trial (nothing was compared).

    Example:
    >>> weak_result_warnings({"val_accuracy": 0.9}, {"num_classes": 2, "finished": 5})
    []
    >>> len(weak_result_warnings({"val_accuracy": 0.25}, {"num_classes": 4, "finished": 1}))
    2
    """
    warnings = []
    num_classes = search.get("num_classes")
    if num_classes and trial["val_accuracy"] <= 1.0 / num_classes + 1e-9:
        warnings.append(
            f"the best trial's validation accuracy {trial['val_accuracy']:.4f} is at or below chance "
            f"(1/{num_classes} = {1.0 / num_classes:.4f}): these settings did no better than a guess; "
            "search longer (a larger --budget) or check the data before training with them"
        )
    if search.get("finished") == 1:
        warnings.append(
            "only 1 trial finished, so these settings were not compared with any other; "
            "give a larger --budget (rerun the same command to resume the search)"
        )
    return warnings


def best_toml_text(trial, search):
    """The text of `best.toml`: `mmcnn train --config` options and a `[classifier]` table.

    `search` is the search's `tune.json` dict (modality, data, seed, ...)."""
    settings = best_settings(trial, search)
    data = search["data"]
    lines = [
        f"# mmcnn tune {search['modality']}: the best of {search['finished']} finished trials "
        f"(trial {trial['number']}), validation accuracy {trial['val_accuracy']:.4f}, "
        f"macro-F1 {trial['val_macro_f1']:.4f},",
        f"# {trial['train_seconds']:.1f} s of training ({trial['epochs_run']} epochs); searched on "
        f"{data['train']}, scored on {data['val']}.",
        f"# Train with it: mmcnn train {search['modality']} --config best.toml --train DATA --out RUN_DIR",
    ]
    lines += [f"# WARNING: {warning}." for warning in weak_result_warnings(trial, search)]
    if search["algorithm"] == "hyperband":
        lines.append(
            "# Hyperband compared settings by shorter runs: this trains them "
            + (f"for {settings['epochs']} epochs." if "epochs" in settings else "with the preset's schedule.")
        )
    if trial.get("stopped_by_budget"):
        lines.append("# (this trial was stopped at the end of the time budget, after the epochs above)")
    for key in TOP_LEVEL:
        if key in settings:
            lines.append(f"{key} = {_toml_value(settings[key], key)}")
    lines.append(f"seed = {int(search['seed'])}")
    if search.get("val_fraction") is not None:
        lines.append(
            f"# No --val was given: the search held out this fraction of --train (as `mmcnn train` does).\n"
            f"val_fraction = {_toml_value(search['val_fraction'], 'val_fraction')}"
        )
    for key in ("on_error", "encoding", "empty_classes"):
        if search.get(key) is not None and search.get(key) != {
            "on_error": "skip",
            "empty_classes": "error",
        }.get(key):
            lines.append(f"{key} = {_toml_value(search[key], key)}")
    classifier = {k: v for k, v in settings.items() if k not in TOP_LEVEL}
    lines += ["", "[classifier]"] + [f"{k} = {_toml_value(v, k)}" for k, v in classifier.items()]
    return "\n".join(lines) + "\n"


def _write_text(path, text):
    from mmcnn.export.atomic import replaced_file

    # A reader never sees half a file.
    with replaced_file(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        f.write(text)


# --------------------------------------------------------------------- report
def trial_table(trials, knobs):
    """Rows of `trials.csv`: one per trial, its results and its knob values."""
    columns = [
        "trial",
        "trial_id",
        "status",
        "val_accuracy",
        "val_macro_f1",
        "train_seconds",
        "epochs_run",
        "stopped_by_budget",
        *knobs,
    ]
    rows = []
    for trial in trials:
        values = trial.get("settings")
        if values is None:  # not finished: its knob values, and Hyperband's epochs
            values = dict(trial["values"], epochs=trial["values"].get("tuner/epochs", ""))
        row = {
            "trial": trial["number"],
            "trial_id": trial["trial_id"],
            "status": trial["status"],
            **{k: trial.get(k, "") for k in columns[3:8]},
        }
        for knob in knobs:
            value = values.get(knob, "")
            row[knob] = json.dumps(value) if isinstance(value, (list, tuple)) else value
        rows.append(row)
    return columns, rows


def plot_trials(trials, best=None):
    """`matplotlib.figure.Figure`: validation accuracy against training seconds, one dot per trial."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.2), dpi=_DPI)
    ax = fig.add_subplot()
    done = finished(trials)
    xs = [t["train_seconds"] for t in done]
    ys = [t["val_accuracy"] for t in done]
    ax.scatter(xs, ys, s=28, color="tab:blue", alpha=0.8, label="trial")
    for trial in done:
        ax.annotate(
            str(trial["number"]),
            (trial["train_seconds"], trial["val_accuracy"]),
            textcoords="offset points",
            xytext=(4, 3),
            fontsize=7,
            color="0.3",
        )
    if best is not None:
        ax.scatter(
            [best["train_seconds"]],
            [best["val_accuracy"]],
            s=160,
            marker="*",
            color="tab:orange",
            label="best",
        )
    ax.set_xlabel("training seconds")
    ax.set_ylabel("validation accuracy")
    ax.set_title(
        f"{len(done)} finished trials"
        + (f" ({len(trials) - len(done)} not finished)" if len(trials) > len(done) else "")
    )
    ax.grid(alpha=0.3)
    if done:
        ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


def _page(search, columns, rows, best, toml_text):
    def cell(value):
        return f"{value:.4f}" if isinstance(value, float) else html.escape(str(value))

    ranked = sorted(rows, key=lambda r: -r["val_accuracy"] if r["val_accuracy"] != "" else math.inf)
    table = [
        "<table><thead><tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in columns) + "</tr></thead><tbody>"
    ]
    table += ["<tr>" + "".join(f"<td>{cell(r[c])}</td>" for c in columns) + "</tr>" for r in ranked]
    table.append("</tbody></table>")
    summary = (
        f"best: trial {best['number']}, validation accuracy {best['val_accuracy']:.4f}"
        if best
        else "no trial has finished yet"
    )
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>mmcnn tune {html.escape(search["modality"])}</title>
<style>body{{font-family:sans-serif;max-width:70em;margin:1em auto}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:2px 6px;text-align:right}}pre{{background:#f4f4f4;padding:.5em}}</style>
</head><body>
<h1>mmcnn tune {html.escape(search["modality"])}</h1>
<p>{html.escape(search["algorithm_name"])} over {len(search["space"])} knobs; {len(rows)} trials;
{html.escape(summary)}. Every trial was scored on the validation data only
({html.escape(str(search["data"]["val"]))}).</p>
<img src="trials.png" alt="validation accuracy against training seconds">
<p>Validation accuracy of each trial (its best epoch's weights) against the seconds it trained;
the star is the best trial, the numbers are the trial numbers of the table.</p>
<h2>best.toml</h2><pre>{html.escape(toml_text or "(none yet)")}</pre>
<h2>Trials, best first</h2>
{"".join(table)}
</body></html>
"""


def write_outputs(out, project_dir, search):
    """Writes `best.toml` (once a trial has finished) and `report/`; returns the best trial or None."""
    trials = read_trials(project_dir)
    best = best_trial(trials)
    search = dict(search, finished=len(finished(trials)))
    toml_text = None
    if best is not None:
        toml_text = best_toml_text(best, search)
        _write_text(os.path.join(out, "best.toml"), toml_text)
    report_dir = os.path.join(out, "report")
    os.makedirs(report_dir, exist_ok=True)
    knobs = list(search["space"])
    if search["algorithm"] == "hyperband" and "epochs" not in knobs:
        knobs.append("epochs")  # Hyperband gives each trial its epochs
    columns, rows = trial_table(trials, knobs)
    from mmcnn.export.atomic import replaced_file

    with replaced_file(os.path.join(report_dir, "trials.csv")) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            writer = csv.DictWriter(f, columns)
            writer.writeheader()
            writer.writerows(rows)
    fig = plot_trials(trials, best)
    with replaced_file(os.path.join(report_dir, "trials.png"), suffix=".png") as tmp:
        fig.savefig(tmp)
    _write_text(os.path.join(report_dir, "index.html"), _page(search, columns, rows, best, toml_text))
    return best
