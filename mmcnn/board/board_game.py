"""The rules of Go needed to replay game records: captures, simple ko and suicide.

Stones are placed and captured by `sgfmill.boards.Board`; this module adds what
sgfmill leaves to its caller: whose turn it is, the simple-ko point, the ban on
suicide and the legality of every point, and the recent moves.

Coordinates are sgfmill's: a move is `(row, col)` with row 0 the bottom row and
col 0 the left column, or `None` for a pass. The point index of `(row, col)` is
`row * board_size + col`; the pass is index `board_size ** 2`.
"""

import numpy as np

BLACK, WHITE = "b", "w"
COLOURS = (BLACK, WHITE)
MIN_BOARD_SIZE, MAX_BOARD_SIZE = 2, 25  # sgfmill's limits
# GTP column letters: "I" is skipped so that it is not read as "J" or "1".
COLUMN_LETTERS = "ABCDEFGHJKLMNOPQRSTUVWXYZ"

_NEIGHBOURS = {}


def require_sgfmill():
    """Imports sgfmill, or fails saying how to install it."""
    try:
        import sgfmill.boards  # noqa: F401
        import sgfmill.common  # noqa: F401
        import sgfmill.sgf  # noqa: F401
        import sgfmill.sgf_moves  # noqa: F401
    except ImportError:
        raise ImportError(
            "mmcnn.board reads and replays Go games with sgfmill, which is not installed. "
            "Install it with: pip install sgfmill"
        ) from None
    import sgfmill

    return sgfmill


def check_board_size(board_size):
    if (
        isinstance(board_size, bool)
        or not isinstance(board_size, (int, np.integer))
        or not MIN_BOARD_SIZE <= board_size <= MAX_BOARD_SIZE
    ):
        raise ValueError(
            f"`board_size` must be an integer in [{MIN_BOARD_SIZE}, {MAX_BOARD_SIZE}] "
            f"(19, 13 and 9 are the usual sizes). Received: board_size={board_size!r}"
        )
    return int(board_size)


def other(colour):
    return WHITE if colour == BLACK else BLACK


def point_index(move, board_size):
    """`(row, col)` -> `row * board_size + col`; `None` (pass) -> `board_size ** 2`."""
    if move is None:
        return board_size * board_size
    row, col = move
    return row * board_size + col


def index_to_move(index, board_size):
    """Inverse of `point_index`."""
    index = int(index)
    if index == board_size * board_size:
        return None
    return divmod(index, board_size)


def point_name(move, board_size):
    """GTP name of a move: `(0, 0)` -> `"A1"` (bottom left), `None` -> `"pass"`."""
    if move is None:
        return "pass"
    row, col = move
    return f"{COLUMN_LETTERS[col]}{row + 1}"


def move_names(board_size):
    """Names of every point in index order, then `"pass"`: the predictor's class names."""
    return [point_name(index_to_move(i, board_size), board_size) for i in range(board_size * board_size + 1)]


def _neighbours(board_size):
    if board_size not in _NEIGHBOURS:
        table = {}
        for r in range(board_size):
            for c in range(board_size):
                table[(r, c)] = tuple(
                    (r + dr, c + dc)
                    for dr, dc in ((1, 0), (-1, 0), (0, 1), (0, -1))
                    if 0 <= r + dr < board_size and 0 <= c + dc < board_size
                )
        _NEIGHBOURS[board_size] = table
    return _NEIGHBOURS[board_size]


class IllegalMoveError(ValueError):
    """A move that the rules forbid; `reason` is `"occupied"`, `"ko"`, `"suicide"` or `"off the board"`."""

    def __init__(self, message, reason):
        super().__init__(message)
        self.reason = reason


class GoPosition:
    """A Go position: the stones, the player to move, the simple-ko point and the moves so far.

    Mutable: `play` changes it in place (replaying a game makes one position per
    move; copying each would double the cost). Use `copy()` to branch.

    Args:
        board_size: side of the board (19, 13, 9, ...).
        to_play: `"b"` or `"w"`, the player to move.

    Example:
    >>> position = GoPosition(9)
    >>> position.play((4, 4)); position.to_play
    'w'
    >>> position.illegal_reason((4, 4))
    'occupied'
    """

    def __init__(self, board_size=19, to_play=BLACK):
        sgfmill = require_sgfmill()
        self.board_size = check_board_size(board_size)
        if to_play not in COLOURS:
            raise ValueError(f"`to_play` must be 'b' or 'w'. Received: to_play={to_play!r}")
        self.to_play = to_play
        self.ko_point = None
        self.history = []  # moves played, oldest first: (row, col) or None for a pass
        self._board = sgfmill.boards.Board(self.board_size)
        self._analysis = None

    @classmethod
    def from_sgfmill_board(cls, board, to_play=BLACK):
        """A position holding a copy of the stones of a `sgfmill.boards.Board`."""
        position = cls(board.side, to_play)
        position._board = board.copy()
        return position

    def copy(self):
        clone = GoPosition.from_sgfmill_board(self._board, self.to_play)
        clone.ko_point = self.ko_point
        clone.history = list(self.history)
        return clone

    def stones(self):
        """`(board_size, board_size)` int8 array: 1 black, -1 white, 0 empty; `[row, col]`."""
        code = {BLACK: 1, WHITE: -1, None: 0}
        return np.array([[code[p] for p in row] for row in self._board.board], dtype="int8")

    def colour_at(self, move):
        return self._board.get(*move)

    # ------------------------------------------------------------- analysis
    def analysis(self):
        """Chains of stones: `(group, liberties, sizes)`.

        `group[row][col]` is the chain id of the stone there (-1 if empty);
        `liberties[g]` and `sizes[g]` are chain `g`'s liberty and stone counts.
        Cached until the next `play`.
        """
        if self._analysis is None:
            n, grid, neighbours = self.board_size, self._board.board, _neighbours(self.board_size)
            group = [[-1] * n for _ in range(n)]
            liberties, sizes = [], []
            for r in range(n):
                for c in range(n):
                    colour = grid[r][c]
                    if colour is None or group[r][c] >= 0:
                        continue
                    gid = len(liberties)
                    group[r][c] = gid
                    stack, libs, size = [(r, c)], set(), 0
                    while stack:
                        point = stack.pop()
                        size += 1
                        for q in neighbours[point]:
                            there = grid[q[0]][q[1]]
                            if there is None:
                                libs.add(q)
                            elif there == colour and group[q[0]][q[1]] < 0:
                                group[q[0]][q[1]] = gid
                                stack.append(q)
                    liberties.append(len(libs))
                    sizes.append(size)
            self._analysis = (group, liberties, sizes)
        return self._analysis

    def illegal_reason(self, move, colour=None):
        """Why `colour` (default: the player to move) may not play `move`, or `None` if it may."""
        if move is None:
            return None
        colour = colour or self.to_play
        row, col = move
        n = self.board_size
        if not (0 <= row < n and 0 <= col < n):
            return "off the board"
        grid = self._board.board
        if grid[row][col] is not None:
            return "occupied"
        if move == self.ko_point and colour == self.to_play:
            return "ko"
        group, liberties, _ = self.analysis()
        for q in _neighbours(n)[move]:
            there = grid[q[0]][q[1]]
            if there is None:
                return None
            libs = liberties[group[q[0]][q[1]]]
            # Joining a chain that keeps another liberty, or taking a chain's last liberty.
            if (there == colour and libs >= 2) or (there != colour and libs == 1):
                return None
        return "suicide"

    def legal_points(self):
        """`(board_size, board_size)` bool array: where the player to move may play."""
        n = self.board_size
        grid = self._board.board
        legal = np.zeros((n, n), dtype=bool)
        for r in range(n):
            for c in range(n):
                if grid[r][c] is None:
                    legal[r, c] = self.illegal_reason((r, c)) is None
        return legal

    # ----------------------------------------------------------------- play
    def play(self, move, colour=None):
        """Plays `move` (`(row, col)` or `None` to pass) for `colour` (default: the player to move).

        Captures, records the simple-ko point and passes the turn to the other colour.

        Raises:
            IllegalMoveError: the point is occupied, off the board, retakes a
                ko or is suicide.
        """
        colour = colour or self.to_play
        if colour not in COLOURS:
            raise ValueError(f"`colour` must be 'b' or 'w'. Received: colour={colour!r}")
        if colour != self.to_play:
            # A record may let one colour play twice (handicap, edited games): the ko
            # ban only binds the player who moves right after the capture.
            self.to_play, self.ko_point = colour, None
        reason = self.illegal_reason(move, colour)
        if reason is not None:
            raise IllegalMoveError(
                f"{colour} {point_name(move, self.board_size) if reason != 'off the board' else move} "
                f"is illegal ({reason})",
                reason,
            )
        ko_point = None
        if move is not None:
            ko_point = self._ko_after(move, colour)
            self._board.play(move[0], move[1], colour)
        self.ko_point = ko_point
        self.history.append(move)
        self.to_play = other(colour)
        self._analysis = None

    def _ko_after(self, move, colour):
        # Simple ko: the move captures exactly one stone and the capturing stone,
        # alone, is left with that point as its only liberty.
        group, liberties, sizes = self.analysis()
        grid = self._board.board
        captured, seen, alone = [], set(), True
        for q in _neighbours(self.board_size)[move]:
            there = grid[q[0]][q[1]]
            if there is None or there == colour:
                alone = False
                continue
            g = group[q[0]][q[1]]
            if liberties[g] == 1 and g not in seen:
                seen.add(g)
                captured.append((q, sizes[g]))
        if alone and len(captured) == 1 and captured[0][1] == 1:
            return captured[0][0]
        return None
