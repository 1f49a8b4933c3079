"""Feature planes of a Go position, and the 8 symmetries of the board.

A board is an image whose pixels are intersections: `encode_position` gives a
`(board_size, board_size, planes)` float32 array, `[row, col, plane]`, seen
from the player to move (own / opponent rather than black / white, so that one
network plays both colours).

Plane groups (`planes=` takes a tuple of their names, in this order in the array):

| group | planes |
|---|---|
| `"stones"` | own stones, opponent stones, empty points |
| `"liberties"` | own chains with 1, 2, 3, >= 4 liberties; the same for the opponent |
| `"recency"` | the last move, the move before, ... (4 planes; a pass marks nothing) |
| `"legal"` | points where the player to move may play (empty, not ko, not suicide) |
| `"ones"` | a constant 1: with zero padding it lets the convolutions see the edge |
"""

import numpy as np
import tensorflow as tf

from mmcnn.board.board_game import check_board_size

RECENT_MOVES = 4
PLANE_GROUPS = {
    "stones": ("own", "opponent", "empty"),
    "liberties": tuple(f"{who}_liberties_{k}" for who in ("own", "opponent") for k in ("1", "2", "3", "4+")),
    "recency": tuple(f"move_{k}_ago" for k in range(1, RECENT_MOVES + 1)),
    "legal": ("legal",),
    "ones": ("ones",),
}
DEFAULT_PLANES = ("stones", "liberties", "recency", "legal", "ones")


def check_planes(planes):
    """Validates a tuple of plane-group names; returns it as a tuple."""
    if isinstance(planes, str):
        planes = (planes,)
    planes = tuple(planes)
    unknown = [p for p in planes if p not in PLANE_GROUPS]
    if not planes or unknown or len(set(planes)) != len(planes):
        raise ValueError(
            f"`planes` must be distinct names among {list(PLANE_GROUPS)}. Received: planes={planes!r}"
        )
    return planes


def plane_names(planes=DEFAULT_PLANES):
    """The name of every plane, in array order."""
    return [name for group in check_planes(planes) for name in PLANE_GROUPS[group]]


def legal_plane_index(planes=DEFAULT_PLANES):
    """Index of the legality plane, or `None` when `"legal"` is not among `planes`."""
    names = plane_names(planes)
    return names.index("legal") if "legal" in names else None


def encode_position(position, planes=DEFAULT_PLANES):
    """The feature planes of a `GoPosition`, seen from its player to move.

    Args:
        position: a `GoPosition`.
        planes: tuple of plane-group names (see the module docstring).

    Returns:
        float32 array `(board_size, board_size, num_planes)`, 0 or 1 values.

    Example:
    >>> from mmcnn.board import GoPosition
    >>> encode_position(GoPosition(9)).shape
    (9, 9, 17)
    """
    planes = check_planes(planes)
    n = position.board_size
    stones = position.stones()
    own = 1 if position.to_play == "b" else -1
    out = []
    for group in planes:
        if group == "stones":
            out += [stones == own, stones == -own, stones == 0]
        elif group == "liberties":
            chain, liberties, _ = position.analysis()
            chain = np.asarray(chain)
            libs = np.where(chain >= 0, np.asarray(liberties + [0])[chain], 0)
            for side in (own, -own):
                mine = stones == side
                out += [mine & (libs == 1), mine & (libs == 2), mine & (libs == 3), mine & (libs >= 4)]
        elif group == "recency":
            for k in range(1, RECENT_MOVES + 1):
                plane = np.zeros((n, n), dtype=bool)
                if len(position.history) >= k and position.history[-k] is not None:
                    row, col = position.history[-k]
                    # A recent move's stone may have been captured since; mark it only if present.
                    plane[row, col] = stones[row, col] != 0
                out.append(plane)
        elif group == "legal":
            out.append(position.legal_points())
        elif group == "ones":
            out.append(np.ones((n, n), dtype=bool))
    return np.stack(out, axis=-1).astype("float32")


# ------------------------------------------------------------------ symmetries
NUM_SYMMETRIES = 8


def dihedral_transform(planes, k):
    """Applies symmetry `k` (0..7) of the square to board planes.

    `k % 4` quarter turns counter-clockwise (`tf.image.rot90`), then a
    left-right mirror when `k >= 4`. `k = 0` is the identity.

    Args:
        planes: `(n, n, c)` or `(batch, n, n, c)` tensor.
        k: int or scalar int32 tensor in [0, 8).

    Returns:
        Same shape as `planes`.
    """
    k = tf.convert_to_tensor(k, tf.int32)
    turned = tf.image.rot90(planes, k % 4)
    return tf.cond(k >= 4, lambda: tf.image.flip_left_right(turned), lambda: turned)


def move_symmetry_table(board_size):
    """`(8, board_size**2 + 1)` int32: `table[k, i]` is where move index `i` goes under symmetry `k`.

    Computed by sending a board of point indices through `dihedral_transform`
    itself, so that moves and planes can only move together; the pass (last
    index) stays the pass.
    """
    n = check_board_size(board_size)
    index_board = np.arange(n * n, dtype="float32").reshape(n, n, 1)
    table = np.zeros((NUM_SYMMETRIES, n * n + 1), dtype="int32")
    for k in range(NUM_SYMMETRIES):
        moved = dihedral_transform(index_board, k).numpy()[..., 0].reshape(-1).astype(int)
        table[k, moved] = np.arange(n * n)  # the point that lands at position j came from moved[j]
        table[k, n * n] = n * n
    return table


def random_symmetry(board_size, seed=None):
    """A `tf.data` map `(planes, move) -> (planes, move)` under one of the 8 symmetries at random.

    For training only: the moves are renumbered with the same transform as the planes.

    Example:
    >>> import numpy as np, tensorflow as tf
    >>> ds = tf.data.Dataset.from_tensor_slices((np.zeros((4, 9, 9, 17), "float32"), [0, 1, 2, 81]))
    >>> [int(m) for _, m in ds.map(random_symmetry(9, seed=1))][-1]  # pass stays pass
    81
    """
    table = tf.constant(move_symmetry_table(board_size))

    def transform(planes, move):
        k = tf.random.uniform([], 0, NUM_SYMMETRIES, dtype=tf.int32, seed=seed)
        new_move = tf.gather(table[k], tf.cast(move, tf.int32))
        return dihedral_transform(planes, k), tf.cast(new_move, move.dtype)

    return transform
