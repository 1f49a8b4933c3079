"""Go game records (SGF) -> (position planes, next move) training pairs.

SGF files are parsed by sgfmill; each game is replayed from its setup stones
with `GoPosition`, which rejects illegal moves (occupied, ko, suicide) so that
a corrupt record is reported by its file and move number instead of silently
teaching the network an impossible position.
"""

import os
from dataclasses import dataclass, field

import numpy as np

from mmcnn.board.board_game import (
    GoPosition,
    IllegalMoveError,
    check_board_size,
    move_names,
    point_index,
    point_name,
    require_sgfmill,
)
from mmcnn.board.board_planes import DEFAULT_PLANES, check_planes, encode_position, plane_names
from mmcnn.data import DataError, LabeledData, check_on_error, report_bad


@dataclass
class GameRecord:
    """One game: board size, the setup position, and the moves `(colour, (row, col) or None)`."""

    board_size: int
    setup: GoPosition
    moves: list = field(default_factory=list)
    source: str = "<sgf>"


def _is_sgf_text(source):
    if isinstance(source, bytes):
        return source.lstrip()[:1] == b"("
    return isinstance(source, str) and source.lstrip()[:1] == "("


def read_game(source):
    """Parses one SGF game: a file path, or the SGF text itself (`str` or `bytes`).

    Raises:
        DataError: the file is unreadable or not a valid SGF game (names the source).
    """
    sgfmill = require_sgfmill()
    if _is_sgf_text(source):
        data, name = (source if isinstance(source, bytes) else source.encode("utf-8")), "<sgf text>"
    else:
        name = os.fspath(source)
        try:
            with open(name, "rb") as f:
                data = f.read()
        except OSError as error:
            raise DataError(f"{name}: cannot read: {error}") from None
    try:
        game = sgfmill.sgf.Sgf_game.from_bytes(data)
        board, plays = sgfmill.sgf_moves.get_setup_and_moves(game)
    except ValueError as error:
        raise DataError(f"{name}: not a valid SGF game: {error}") from None
    first = plays[0][0] if plays else "b"
    # Setup stones count as the position; whoever the record says moves first moves first.
    setup = GoPosition.from_sgfmill_board(board, to_play=first)
    return GameRecord(board.side, setup, list(plays), name)


def replay(record, planes=DEFAULT_PLANES, max_moves=None):
    """Replays a game: the planes before each move and the move's index.

    Args:
        record: a `GameRecord` (from `read_game`).
        planes: plane groups (see `mmcnn.board.board_planes`).
        max_moves: keep only the first `max_moves` moves.

    Returns:
        `(planes, moves)`: float32 `(n, size, size, num_planes)` and int32 `(n,)`
        move indices (`row * size + col`, pass = `size ** 2`).

    Raises:
        DataError: a move is illegal; names the source, the move number and why.
    """
    planes = check_planes(planes)
    position = record.setup.copy()
    n = record.board_size
    features, moves = [], []
    for number, (colour, move) in enumerate(record.moves[:max_moves], start=1):
        # Seen from the player who actually moves (records may let one colour move twice).
        if colour != position.to_play:
            position.to_play, position.ko_point = colour, None
        features.append(encode_position(position, planes))
        moves.append(point_index(move, n))
        try:
            position.play(move, colour)
        except IllegalMoveError as error:
            raise DataError(
                f"{record.source}: move {number} ({colour} {point_name(move, n)}) is illegal: {error.reason}"
            ) from None
    if not features:
        return (np.zeros((0, n, n, len(plane_names(planes))), "float32"), np.zeros((0,), "int32"))
    return np.stack(features), np.asarray(moves, dtype="int32")


def _expand_sources(sources):
    if isinstance(sources, (str, bytes, os.PathLike)) and not _is_sgf_text(sources):
        path = os.fspath(sources)
        if os.path.isdir(path):
            return sorted(
                os.path.join(root, name)
                for root, _, names in os.walk(path)
                for name in names
                if name.lower().endswith(".sgf")
            )
        return [path]
    if _is_sgf_text(sources):
        return [sources]
    return list(sources)


def from_sgf(sources, board_size=None, planes=DEFAULT_PLANES, max_moves=None, on_error="skip"):
    """Training pairs from SGF game records.

    Args:
        sources: a folder (every `*.sgf` below it), one file, or a list of file
            paths and/or SGF texts.
        board_size: keep games of this size (others are skipped, or raise);
            default: the size of the first game read.
        planes: plane groups of the positions.
        max_moves: use at most this many moves of each game.
        on_error: `"skip"` (log and count bad games in `skipped`) or `"raise"`.

    Returns:
        `LabeledData` of `kind="arrays"`: `inputs` float32 `(n, size, size, planes)`,
        `labels` the next move's index, `class_names` the point names (`"A1"`, ...,
        `"pass"`), `sources` `"<file>:<move number>"`.
    """
    check_on_error(on_error)
    planes = check_planes(planes)
    if board_size is not None:
        board_size = check_board_size(board_size)
    features, labels, names, skipped = [], [], [], []
    for source in _expand_sources(sources):
        where = "<sgf text>" if _is_sgf_text(source) else os.fspath(source)
        try:
            record = read_game(source)
            if board_size is None:
                board_size = record.board_size
            if record.board_size != board_size:
                raise DataError(f"{where}: board size {record.board_size}, expected {board_size}")
            x, y = replay(record, planes, max_moves)
        except DataError as error:
            report_bad(where, str(error).removeprefix(f"{where}: "), on_error, skipped)
            continue
        features.append(x)
        labels.append(y)
        names += [f"{where}:{i}" for i in range(1, len(y) + 1)]
    if board_size is None:
        raise DataError(f"no readable SGF game in {sources!r}")
    num_planes = len(plane_names(planes))
    inputs = (
        np.concatenate(features) if features else np.zeros((0, board_size, board_size, num_planes), "float32")
    )
    labels = np.concatenate(labels) if labels else np.zeros((0,), "int32")
    return LabeledData(inputs, labels, move_names(board_size), "arrays", skipped=skipped, sources=names)
