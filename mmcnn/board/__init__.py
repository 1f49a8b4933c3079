"""Board positions: Go boards as images whose pixels are intersections.

Game records are read and replayed with sgfmill (`pip install sgfmill`), imported
only when a position is made, so that `import mmcnn.board` never fails.
"""

from mmcnn.board.board_game import (
    GoPosition,
    IllegalMoveError,
    index_to_move,
    move_names,
    point_index,
    point_name,
)
from mmcnn.board.board_planes import (
    DEFAULT_PLANES,
    PLANE_GROUPS,
    dihedral_transform,
    encode_position,
    legal_plane_index,
    move_symmetry_table,
    plane_names,
    random_symmetry,
)
from mmcnn.board.board_sgf import GameRecord, from_sgf, read_game, replay
from mmcnn.board.move_predictor import LegalMoveSoftmax, MoveHead, MovePredictor, move_accuracy

__all__ = [
    "DEFAULT_PLANES",
    "GameRecord",
    "GoPosition",
    "IllegalMoveError",
    "LegalMoveSoftmax",
    "MoveHead",
    "MovePredictor",
    "PLANE_GROUPS",
    "dihedral_transform",
    "encode_position",
    "from_sgf",
    "index_to_move",
    "legal_plane_index",
    "move_accuracy",
    "move_names",
    "move_symmetry_table",
    "plane_names",
    "point_index",
    "point_name",
    "random_symmetry",
    "read_game",
    "replay",
]
