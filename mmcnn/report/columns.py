"""The report's picture of a table model's columns: accuracy with each column alone and left out."""

from matplotlib.figure import Figure


def plot_column_ablation(ablation, split="test"):
    """Horizontal bars per column: accuracy with the column alone, and with it left out, against
    the accuracy with every column (`mmcnn.multimodal.column_ablation`'s result)."""
    columns = list(ablation["alone"])
    fig = Figure(figsize=(8, 0.6 * len(columns) + 1.6))
    ax = fig.subplots()
    ys = list(range(len(columns)))
    alone = [ablation["alone"][c] for c in columns]
    left_out = [ablation["left_out"][c] for c in columns]
    ax.barh([y - 0.2 for y in ys], alone, height=0.4, label="this column alone")
    ax.barh([y + 0.2 for y in ys], left_out, height=0.4, label="this column left out")
    ax.axvline(ablation["all"], color="black", linestyle="--", label=f"every column ({ablation['all']:.3f})")
    ax.set_yticks(ys, columns)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel(f"{split} accuracy ({ablation['examples']} examples)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    fig.tight_layout()
    return fig


def plot_column_attribution(explanation, index=0, source=None):
    """One row's picture for `mmcnn explain` of a table model: how much each column moved the
    explained class's probability (`mmcnn.multimodal.column_attribution`), and the top classes."""
    columns = list(explanation["columns"])
    values = [float(explanation["columns"][c][index]) for c in columns]
    present = [bool(explanation["present"][c][index]) for c in columns]
    fig = Figure(figsize=(9, 0.5 * len(columns) + 1.8), layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=[2, 1])
    colours = ["tab:green" if v >= 0 else "tab:red" for v in values]
    left.barh(range(len(columns)), values, color=colours)
    left.set_yticks(range(len(columns)), [c if p else f"{c} (missing)" for c, p in zip(columns, present)])
    left.invert_yaxis()
    left.axvline(0, color="black", linewidth=0.8)
    explained = explanation["class_names"][index]
    left.set_xlabel(f"probability of {explained!r} with the cell minus without it")
    top = explanation["top_k"][index]
    right.barh(range(len(top)), [p for _, p in top], color="tab:blue")
    right.set_yticks(range(len(top)), [name for name, _ in top])
    right.invert_yaxis()
    right.set_xlim(0, 1)
    right.set_xlabel("probability")
    if source:
        fig.suptitle(str(source)[:100], fontsize=9)
    return fig
