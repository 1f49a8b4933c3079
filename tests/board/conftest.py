"""Shared fixtures of the board tests: hand-written SGF games and, when GNU Go is installed, real ones."""

import os
import random
import sys
from pathlib import Path

import pytest

GNUGO = "/usr/games/gnugo"
# `bench` (the GNU Go driver) lives at the repository root, outside the installed package.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def random_game_sgf(board_size, num_moves, seed):
    """A random legal game as SGF text: legality judged by sgfmill's own play (an independent referee).

    A move is legal when sgfmill keeps the stone on the board after playing it
    (sgfmill removes a self-captured stone) and it does not retake a ko that
    sgfmill reported.
    """
    from sgfmill import boards, sgf

    rng = random.Random(seed)
    board, ko, colour = boards.Board(board_size), None, "b"
    game = sgf.Sgf_game(size=board_size)
    for _ in range(num_moves):
        candidates = [
            (r, c)
            for r in range(board_size)
            for c in range(board_size)
            if board.get(r, c) is None and (r, c) != ko
        ]
        rng.shuffle(candidates)
        move = None
        for point in candidates:
            trial = board.copy()
            trial.play(point[0], point[1], colour)
            if trial.get(*point) is not None:
                move = point
                break
        ko = board.play(move[0], move[1], colour) if move is not None else None
        game.extend_main_sequence().set_move(colour, move)
        colour = "w" if colour == "b" else "b"
    return game.serialise().decode("ascii")


@pytest.fixture(scope="session")
def game_sgfs(tmp_path_factory):
    """A few 9x9 games: two played by GNU Go at test time when it is installed, else random legal games."""
    if os.path.exists(GNUGO):
        from bench.data.gnugo_games import generate_games

        out = tmp_path_factory.mktemp("gnugo")
        return generate_games(out, num_games=2, board_size=9, levels=(0,), max_moves=40)
    return [random_game_sgf(9, 40, seed) for seed in range(2)]
