"""Feature planes against an independent computation, and the 8 symmetries against replayed games."""

import numpy as np
import pytest
import tensorflow as tf
from conftest import random_game_sgf
from scipy import ndimage

from mmcnn.board import (
    dihedral_transform,
    encode_position,
    move_symmetry_table,
    plane_names,
    random_symmetry,
    read_game,
    replay,
)
from mmcnn.board.board_planes import check_planes

CROSS = ndimage.generate_binary_structure(2, 1)


def _reference_liberties(stones):
    """Per point, the liberties of its chain, by connected-component labelling and dilation."""
    libs = np.zeros(stones.shape, int)
    for colour in (1, -1):
        labels, count = ndimage.label(stones == colour, structure=CROSS)
        for k in range(1, count + 1):
            chain = labels == k
            libs[chain] = np.sum(ndimage.binary_dilation(chain, CROSS) & (stones == 0))
    return libs


def test_planes_against_reference():
    record = read_game(random_game_sgf(7, 60, seed=3))
    position = record.setup.copy()
    names = plane_names()
    for colour, move in record.moves:
        planes = encode_position(position)
        stones = position.stones()
        own = 1 if position.to_play == "b" else -1
        assert position.to_play == colour
        np.testing.assert_array_equal(planes[..., names.index("own")], stones == own)
        np.testing.assert_array_equal(planes[..., names.index("empty")], stones == 0)
        libs = _reference_liberties(stones)
        for side, who in ((own, "own"), (-own, "opponent")):
            for k, name in ((1, "1"), (2, "2"), (3, "3")):
                np.testing.assert_array_equal(
                    planes[..., names.index(f"{who}_liberties_{name}")], (stones == side) & (libs == k)
                )
            np.testing.assert_array_equal(
                planes[..., names.index(f"{who}_liberties_4+")], (stones == side) & (libs >= 4)
            )
        if position.history and position.history[-1] is not None:
            last = np.zeros(stones.shape, bool)
            last[position.history[-1]] = True
            np.testing.assert_array_equal(planes[..., names.index("move_1_ago")], last)
        assert planes[..., names.index("ones")].all()
        position.play(move, colour)


# The 8 symmetries of the square as maps of (row, col) on an n x n board.
COORDINATE_MAPS = [
    lambda r, c, n: (r, c),
    lambda r, c, n: (c, n - 1 - r),
    lambda r, c, n: (n - 1 - r, n - 1 - c),
    lambda r, c, n: (n - 1 - c, r),
    lambda r, c, n: (r, n - 1 - c),
    lambda r, c, n: (n - 1 - r, c),
    lambda r, c, n: (c, r),
    lambda r, c, n: (n - 1 - c, n - 1 - r),
]


def _transformed_game(sgf, mapping, n):
    from sgfmill import sgf as sgf_module

    record = read_game(sgf)
    game = sgf_module.Sgf_game(size=n)
    for colour, move in record.moves:
        game.extend_main_sequence().set_move(colour, None if move is None else mapping(*move, n))
    return read_game(game.serialise())


def test_symmetries_transform_planes_and_moves_together():
    """Replaying a game with every move mapped by a symmetry gives the transformed planes and moves."""
    n = 6
    sgf = random_game_sgf(n, 30, seed=5)
    planes, moves = replay(read_game(sgf))
    replays = [replay(_transformed_game(sgf, mapping, n)) for mapping in COORDINATE_MAPS]
    table = move_symmetry_table(n)
    matched = []
    for k in range(8):
        turned = dihedral_transform(planes, k).numpy()
        hits = [
            i
            for i, (p, m) in enumerate(replays)
            if np.array_equal(p, turned) and np.array_equal(m, table[k][moves])
        ]
        assert len(hits) == 1, f"symmetry {k} matches {hits}"
        matched.append(hits[0])
    assert sorted(matched) == list(range(8))  # all eight, each once
    assert np.all(table[:, n * n] == n * n)  # pass stays pass


def test_random_symmetry_in_tf_data_is_consistent():
    n = 5
    planes = np.zeros((12, n, n, 2), "float32")
    moves = np.arange(12) * 2
    moves[-1] = n * n  # a pass
    for i, m in enumerate(moves[:-1]):
        planes[i, m // n, m % n, 1] = 1  # mark the move's point in a plane
    ds = tf.data.Dataset.from_tensor_slices((planes, moves)).map(random_symmetry(n, seed=3))
    moved = 0
    for (x, m), original in zip(ds, moves):
        x, m = x.numpy(), int(m)
        if m == n * n:
            assert original == n * n and x[..., 1].sum() == 0
            continue
        assert x[m // n, m % n, 1] == 1 and x[..., 1].sum() == 1
        moved += m != original
    assert moved > 0  # not always the identity


def test_check_planes():
    assert check_planes("stones") == ("stones",)
    with pytest.raises(ValueError, match="planes"):
        check_planes(("stones", "colour"))
    assert len(plane_names(("stones", "legal"))) == 4


def test_docstring_examples_run():
    import doctest

    from mmcnn.board import board_game, board_planes, move_predictor

    for module in (board_game, board_planes, move_predictor):
        results = doctest.testmod(module)
        assert results.attempted > 0 and results.failed == 0, module.__name__
