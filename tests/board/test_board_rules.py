"""Replaying Go records: captures, simple ko, suicide, against hand-written SGF and sgfmill."""

import numpy as np
import pytest
from conftest import random_game_sgf
from sgfmill import boards

from mmcnn.board import GoPosition, IllegalMoveError, from_sgf, point_index, read_game, replay
from mmcnn.board.board_planes import encode_position, plane_names
from mmcnn.data import DataError

# SGF letters: column a.. left to right, row a.. top to bottom; sgfmill makes (row from bottom, col).
CAPTURE = "(;SZ[9];B[de];W[ee];B[fe];W[aa];B[ed];W[ab];B[ef];W[ii])"
KO_SHAPE = "(;SZ[9];B[dc];W[ec];B[cd];W[dd];B[de];W[fd];B[aa];W[ee];B[ed]"
KO_RETAKE = KO_SHAPE + ";W[dd])"  # move 10 retakes at once: illegal
KO_LATER = KO_SHAPE + ";W[ia];B[ib];W[dd])"  # after a move elsewhere the retake is legal
SUICIDE = "(;SZ[9];B[ba];W[ii];B[ab];W[aa])"
CAPTURE_NOT_SUICIDE = "(;SZ[9];B[ba];W[ca];B[ab];W[bb];B[ii];W[ac];B[hh];W[aa])"
OCCUPIED = "(;SZ[9];B[ee];W[ee])"


def _sgf_point(letters, size=9):
    col, row = ord(letters[0]) - ord("a"), ord(letters[1]) - ord("a")
    return (size - 1 - row, col)


def _final_position(sgf):
    record = read_game(sgf)
    position = record.setup.copy()
    for colour, move in record.moves:
        position.play(move, colour)
    return position


def test_capture_removes_the_surrounded_stone():
    position = _final_position(CAPTURE)
    assert position.colour_at(_sgf_point("ee")) is None
    assert position.stones().sum() == 4 - 3  # four black stones, three white left (aa, ab, ii)
    planes, moves = replay(read_game(CAPTURE))
    empty = plane_names().index("empty")
    assert planes[-1][_sgf_point("ee") + (empty,)] == 1  # seen before the last move
    assert moves[-1] == point_index(_sgf_point("ii"), 9)


def test_ko_retake_is_illegal_and_named():
    with pytest.raises(DataError, match=r"move 10 \(w D6\) is illegal: ko"):
        from_sgf([KO_RETAKE], on_error="raise")
    data = from_sgf([KO_RETAKE])  # skip mode: the game is left out and counted
    assert len(data) == 0 and len(data.skipped) == 1 and "ko" in data.skipped[0][1]


def test_ko_point_is_not_legal_then_is_after_a_move_elsewhere():
    record = read_game(KO_LATER)
    position = record.setup.copy()
    for colour, move in record.moves[:9]:
        position.play(move, colour)
    ko = _sgf_point("dd")
    assert position.ko_point == ko and position.to_play == "w"
    legal = plane_names().index("legal")
    assert encode_position(position)[ko + (legal,)] == 0
    with pytest.raises(IllegalMoveError) as error:
        position.copy().play(ko)
    assert error.value.reason == "ko"
    data = from_sgf([KO_LATER], on_error="raise")  # the later retake replays
    assert len(data) == 12
    assert _final_position(KO_LATER).colour_at(_sgf_point("ed")) is None  # and captures


def test_suicide_is_illegal_but_a_capture_that_looks_like_one_is_not():
    with pytest.raises(DataError, match="illegal: suicide"):
        from_sgf([SUICIDE], on_error="raise")
    position = _final_position(CAPTURE_NOT_SUICIDE)
    assert position.colour_at(_sgf_point("aa")) == "w"
    assert position.colour_at(_sgf_point("ba")) is None and position.colour_at(_sgf_point("ab")) is None
    assert position.ko_point is None  # two stones captured: no ko


def test_occupied_point_and_bad_files(tmp_path):
    with pytest.raises(DataError, match="occupied"):
        from_sgf([OCCUPIED], on_error="raise")
    bad = tmp_path / "bad.sgf"
    bad.write_text("(;SZ[9];B[ee]")  # truncated
    good = tmp_path / "good.sgf"
    good.write_text(CAPTURE)
    with pytest.raises(DataError, match="bad.sgf"):
        from_sgf(tmp_path, on_error="raise")
    data = from_sgf(tmp_path)
    assert len(data) == 8 and [s for s, _ in data.skipped] == [str(bad)]
    assert data.sources[0] == f"{good}:1"
    with pytest.raises(DataError, match="board size 9, expected 13"):
        from_sgf([CAPTURE], board_size=13, on_error="raise")


@pytest.mark.parametrize("board_size,seed", [(5, 0), (5, 1), (9, 2)])
def test_legality_and_ko_agree_with_sgfmill(board_size, seed):
    """Every point's legality against trying the move on a sgfmill board (which self-captures)."""
    record = read_game(random_game_sgf(board_size, 3 * board_size * board_size, seed))
    position, reference, sgf_ko = record.setup.copy(), boards.Board(board_size), None
    for colour, move in record.moves:
        expected = np.zeros((board_size, board_size), bool)
        for r in range(board_size):
            for c in range(board_size):
                if reference.get(r, c) is None and (r, c) != sgf_ko:
                    trial = reference.copy()
                    trial.play(r, c, colour)
                    expected[r, c] = trial.get(r, c) is not None
        np.testing.assert_array_equal(position.legal_points(), expected)
        position.play(move, colour)
        sgf_ko = reference.play(move[0], move[1], colour) if move is not None else None
        assert position.ko_point == sgf_ko
        np.testing.assert_array_equal(position.stones(), _sgfmill_stones(reference))
    assert len(record.moves) == 3 * board_size * board_size


def _sgfmill_stones(board):
    code = {"b": 1, "w": -1, None: 0}
    return np.array([[code[board.get(r, c)] for c in range(board.side)] for r in range(board.side)])


def test_gnugo_games_replay(game_sgfs):
    data = from_sgf(game_sgfs, on_error="raise")
    assert len(data) > 20 and data.inputs.shape[1:] == (9, 9, len(plane_names()))
    legal = plane_names().index("legal")
    flat = data.inputs[..., legal].reshape(len(data), -1)
    played = data.labels < 81
    # Every move actually played is on a point the legality plane allows.
    assert np.all(flat[played, data.labels[played]] == 1)


def test_position_validation():
    with pytest.raises(ValueError, match="board_size"):
        GoPosition(1)
    with pytest.raises(ValueError, match="to_play"):
        GoPosition(9, to_play="x")
