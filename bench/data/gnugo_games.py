"""Go games played by GNU Go against itself, written as SGF files (no download).

GNU Go (`/usr/games/gnugo`, Debian package `gnugo`; `bench/setup.sh` installs it)
is driven through its GTP protocol over a subprocess pipe: `boardsize`,
`clear_board`, a few random opening moves for variety, then `genmove black` /
`genmove white` alternately until two passes in a row, a resignation or a move
cap. Each game uses its own `--seed` and a `--level` drawn from `levels`.

Example:

>>> paths = generate_games("/tmp/games", num_games=2, board_size=9)  # doctest: +SKIP
>>> len(paths)
2

Command line: `python -m bench.data.gnugo_games OUT_DIR --games 100 --size 9`.
"""

import argparse
import os
import random
import shutil
import subprocess

GNUGO = "/usr/games/gnugo"


def find_gnugo(path=None):
    """The gnugo executable, or a clear error saying how to install it."""
    path = path or shutil.which("gnugo") or GNUGO
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"GNU Go not found at {path}: install the Debian package `gnugo` "
            "with bench/setup.sh (or apt-get install gnugo)"
        )
    return path


class GTPEngine:
    """A GTP engine on a subprocess pipe; `command` returns the response text or raises."""

    def __init__(self, args):
        self.process = subprocess.Popen(
            args,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            bufsize=1,
        )

    def command(self, line):
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        lines = []
        # A GTP response is "= ..." or "? ..." and ends with an empty line.
        while True:
            out = self.process.stdout.readline()
            if out == "":
                raise RuntimeError(f"GTP engine exited during {line!r}")
            out = out.rstrip("\r\n")
            if out == "" and lines:
                break
            if out:
                lines.append(out)
        text = "\n".join(lines)
        if text.startswith("?"):
            raise ValueError(f"GTP {line!r} failed: {text[1:].strip()}")
        return text[1:].strip()

    def close(self):
        try:
            self.command("quit")
        except (RuntimeError, BrokenPipeError, ValueError):
            pass
        self.process.wait(timeout=10)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def play_game(board_size=9, level=1, seed=0, opening_moves=2, max_moves=None, komi=6.5, gnugo=None):
    """Plays one self-play game; returns its SGF text (sgfmill writes it)."""
    from sgfmill import common, sgf

    max_moves = max_moves or 3 * board_size * board_size
    rng = random.Random(seed)
    game = sgf.Sgf_game(size=board_size)
    root = game.get_root()
    root.set("KM", komi)
    root.set("PB", f"GNU Go level {level}")
    root.set("PW", f"GNU Go level {level}")
    root.set("GN", f"gnugo selfplay seed={seed} level={level} opening={opening_moves}")
    args = [find_gnugo(gnugo), "--mode", "gtp", "--level", str(level), "--seed", str(seed)]
    with GTPEngine(args) as engine:
        engine.command(f"boardsize {board_size}")
        engine.command("clear_board")
        engine.command(f"komi {komi}")
        colour, passes, played = "b", 0, 0
        name = {"b": "black", "w": "white"}
        while played < max_moves and passes < 2:
            if played < opening_moves:
                vertex = _random_legal(engine, rng, board_size, name[colour])
            else:
                vertex = engine.command(f"genmove {name[colour]}")
            if vertex.lower() == "resign":
                root.set("RE", f"{'W' if colour == 'b' else 'B'}+R")
                break
            move = common.move_from_vertex(vertex, board_size)  # None for PASS
            passes = passes + 1 if move is None else 0
            game.extend_main_sequence().set_move(colour, move)
            colour = "w" if colour == "b" else "b"
            played += 1
    return game.serialise().decode("ascii")


def _random_legal(engine, rng, board_size, colour):
    from sgfmill import common

    for _ in range(100):
        vertex = common.format_vertex((rng.randrange(board_size), rng.randrange(board_size)))
        try:
            engine.command(f"play {colour} {vertex}")
            return vertex
        except ValueError:  # occupied or illegal: try another point
            continue
    return engine.command(f"genmove {colour}")


def generate_games(
    out_dir,
    num_games=10,
    board_size=9,
    levels=(0, 1, 2),
    opening_moves=(1, 4),
    first_seed=0,
    max_moves=None,
    gnugo=None,
):
    """Writes `num_games` self-play games to `out_dir/game_<seed>.sgf`; returns their paths.

    Args:
        out_dir: folder for the SGF files (made if missing).
        num_games: number of games.
        board_size: 9, 13 or 19.
        levels: GNU Go `--level` values drawn from per game (lower is faster and weaker).
        opening_moves: `(low, high)` range of random opening moves per game.
        first_seed: seed of the first game; game `i` uses `first_seed + i`.
        max_moves: stop a game after this many moves (default `3 * size**2`).
    """
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    for i in range(num_games):
        seed = first_seed + i
        rng = random.Random(seed)
        level = rng.choice(list(levels))
        opening = rng.randint(*opening_moves)
        path = os.path.join(out_dir, f"game_{board_size}x{board_size}_{seed:05d}.sgf")
        if not os.path.exists(path):
            text = play_game(
                board_size, level=level, seed=seed, opening_moves=opening, max_moves=max_moves, gnugo=gnugo
            )
            with open(path, "w") as f:
                f.write(text)
        paths.append(path)
    return paths


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir")
    parser.add_argument("--games", type=int, default=100)
    parser.add_argument("--size", type=int, default=9)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--levels", default="0,1,2")
    args = parser.parse_args(argv)
    paths = generate_games(
        args.out_dir,
        args.games,
        args.size,
        levels=tuple(int(x) for x in args.levels.split(",")),
        first_seed=args.first_seed,
    )
    print(f"{len(paths)} games in {args.out_dir}")


if __name__ == "__main__":
    main()
