"""Move-prediction benchmark on GNU Go self-play games (9x9).

Plays (or reuses) GNU Go self-play games with `bench.data.gnugo_games`, splits
them by game (the last 20% of games are held out), replays them into
(position planes, next move) pairs, and scores top-1 / top-5 accuracy of:

- `MovePredictor(board_size=9)` (the convolutional net: no pooling, `same`
  padding, per-point head, illegal points masked);
- a fully-connected net with a similar parameter budget (planes -> flatten ->
  two ReLU dense layers -> 82 logits), the same legal-move mask, the same
  training pipeline (symmetry augmentation, AdamW, cosine schedule, epochs);
- the most-frequent-move baseline (the training set's most frequent moves, the
  same for every position) and its legal variant (the most frequent moves
  among those legal in the position).

Also replays a few 19x19 games to show that the full board works. Writes
`bench/results/board.md`.

    nice -n 0 .venv/bin/python -m bench.bench_board

About 10 minutes on a 2-core CPU once the games exist (playing 240 9x9 games
takes GNU Go another 5-15 minutes, once; they are cached under bench/_work/gnugo).
"""

import argparse
import os
import platform
import sys
import time

import numpy as np

from bench.harness import load_average, publish

WORK = "bench/_work/gnugo"


def fc_units(inputs, outputs, budget):
    """Width `h` of two hidden layers so that inputs*h + h*h + h*outputs (+ biases) ~ budget."""
    a, b, c = 1.0, inputs + outputs + 3.0, outputs - budget
    return max(8, int(round((-b + np.sqrt(b * b - 4 * a * c)) / (2 * a))))


def make_fc_predictor_class(units):
    import keras

    from mmcnn.board import LegalMoveSoftmax, MovePredictor
    from mmcnn.board.board_planes import legal_plane_index
    from mmcnn.models import ClassifierModel

    class DenseMovePredictor(MovePredictor):
        """The baseline: the same task and training, a fully-connected network."""

        def build(self):
            keras.utils.set_random_seed(self.seed)
            n = self.board_size
            planes = keras.Input((n, n, self.num_planes), name="planes")
            x = keras.layers.Flatten()(planes)
            x = keras.layers.Dense(units, activation="relu")(x)
            x = keras.layers.Dense(units, activation="relu")(x)
            logits = keras.layers.Dense(n * n + 1)(x)
            probs = LegalMoveSoftmax(legal_plane_index(self.planes))([logits, planes])
            self._model = ClassifierModel(
                planes, probs, name="dense_move_predictor", metadata=self._metadata()
            )
            return self._model

    return DenseMovePredictor


def frequency_baselines(train, test, legal_index):
    from mmcnn.board import move_accuracy

    counts = np.bincount(train.labels, minlength=len(train.class_names)).astype("float64")
    # Ties broken by a tiny index term so that rankings are deterministic.
    score = counts - 1e-6 * np.arange(len(counts))
    fixed = np.tile(score, (len(test), 1))
    plain = move_accuracy(test.labels, fixed)
    legal = test.inputs[..., legal_index].reshape(len(test), -1) > 0.5
    legal = np.concatenate([legal, np.ones((len(test), 1), bool)], axis=1)
    masked = np.where(legal, fixed, -np.inf)
    return plain, move_accuracy(test.labels, masked), counts


def train_and_score(cls, train, test, args):
    predictor = cls(board_size=9, preset=args.preset, epochs=args.epochs, batch_size=args.batch_size, seed=0)
    start = time.time()
    predictor.fit(train, early_stopping=False, verbose=2)
    seconds = time.time() - start
    report = predictor.evaluate(test)
    return {**report, "params": int(predictor.model.count_params()), "seconds": seconds}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--games", type=int, default=240)
    parser.add_argument("--games19", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--preset", default="small")
    parser.add_argument("--out", default="bench/results/board.md")
    args = parser.parse_args(argv)

    from bench.data.gnugo_games import generate_games

    load_before = load_average()
    start = time.time()
    paths = generate_games(os.path.join(WORK, "9x9"), args.games, board_size=9, levels=(0, 1))
    paths19 = generate_games(
        os.path.join(WORK, "19x19"), args.games19, board_size=19, levels=(0,), max_moves=120
    )
    generate_seconds = time.time() - start

    import keras

    from mmcnn.board import DEFAULT_PLANES, MovePredictor, from_sgf, legal_plane_index

    held = max(1, len(paths) // 5)
    start_replay = time.time()
    train = from_sgf(paths[:-held], on_error="raise")
    test = from_sgf(paths[-held:], on_error="raise")
    replay_seconds = time.time() - start_replay
    start19 = time.time()
    data19 = from_sgf(paths19, on_error="raise")
    replay19 = time.time() - start19
    params19 = MovePredictor(19, preset=args.preset).model.count_params()

    plain, legal_freq, counts = frequency_baselines(train, test, legal_plane_index(DEFAULT_PLANES))
    results = {}
    results["MovePredictor (conv)"] = train_and_score(MovePredictor, train, test, args)
    keras.backend.clear_session()
    units = fc_units(9 * 9 * train.inputs.shape[-1], 82, results["MovePredictor (conv)"]["params"])
    results[f"fully connected ({units}-{units})"] = train_and_score(
        make_fc_predictor_class(units), train, test, args
    )
    total = time.time() - start
    load_after = load_average()

    top = [train.class_names[i] for i in np.argsort(-counts, kind="stable")[:5]]
    command = " ".join(["nice -n 0 .venv/bin/python -m bench.bench_board", *sys.argv[1:]])
    lines = [
        "# Go move prediction (9x9, GNU Go self-play)",
        "",
        f"Command: `{command}`",
        "",
        f"Machine: {os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), "
        f"Python {platform.python_version()}, shared with other engineers' jobs, so times are noisy. "
        f"Load average (1, 5, 15 min) before: {load_before}; after: {load_after}. Total {total:.0f} s "
        f"(of which {generate_seconds:.0f} s playing the games not yet cached under {WORK}).",
        "",
        f"Data: {len(paths)} GNU Go 3.8 self-play 9x9 games (`--level` 0 or 1, 1-4 random opening moves, "
        f"one `--seed` per game), split by game: {len(paths) - held} games / {len(train)} positions for "
        f"training, the last {held} games / {len(test)} positions held out. Planes: "
        f"{train.inputs.shape[-1]} ({', '.join(DEFAULT_PLANES)}); replaying all 9x9 games took "
        f"{replay_seconds:.1f} s. Both networks: {args.epochs} epochs, batch {args.batch_size}, "
        "8-fold symmetry augmentation, AdamW with cosine decay, illegal points masked; no early stopping.",
        "",
        "| model | parameters | top-1 | top-5 | train time (s) |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['params']:,} | {r['top1_accuracy']:.4f} | {r['top5_accuracy']:.4f} | "
            f"{r['seconds']:.0f} |"
        )
    lines += [
        f"| most frequent moves ({', '.join(top)}, ...) | 0 | {plain['top1_accuracy']:.4f} | "
        f"{plain['top5_accuracy']:.4f} | - |",
        f"| most frequent legal moves | 0 | {legal_freq['top1_accuracy']:.4f} | "
        f"{legal_freq['top5_accuracy']:.4f} | - |",
        "",
        f"19x19: {len(paths19)} GNU Go games (level 0, at most 120 moves) replayed into {len(data19)} "
        f"positions of shape {data19.inputs.shape[1:]} in {replay19:.1f} s; "
        f"`MovePredictor(19, preset={args.preset!r})` has {params19:,} parameters "
        "(as many as on 9x9: no weight depends on the board size).",
    ]
    publish(lines, args.out)


if __name__ == "__main__":
    main()
