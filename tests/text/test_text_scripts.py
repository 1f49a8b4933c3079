"""The script table (`text_scripts.py`) splits as tensorflow-text's kernel does, on every code point.

Mode "unicode_script" splits a word wherever the kernel behind
`UnicodeScriptTokenizer` sees the ICU script change. These tests ask the real
kernel, in a few large batches, whether it keeps two code points in one token,
and compare with the table's classes; `PythonTokenizer` then only needs the
table (tests/text/test_text_ids.py compares its ids with the layer's).
"""

import numpy as np
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st
from tensorflow_text.python.ops.unicode_script_tokenizer import gen_unicode_script_tokenizer

from mmcnn.text import text_constants, text_scripts
from mmcnn.text.text_converter import _unicode_script_split
from mmcnn.text.text_ids import split_scripts

CODE_POINTS = 0x110000


def _token_counts(strings):
    """`(n, k)` code points -> the number of tokens the kernel makes of each row."""
    strings = np.asarray(strings, dtype=np.int32)
    n, k = strings.shape
    outputs = gen_unicode_script_tokenizer.unicode_script_tokenize_with_offsets(
        input_values=strings.reshape(-1),
        input_splits=np.arange(0, n * k + 1, k, dtype=np.int64),
        keep_whitespace=False,
    )
    return np.diff(outputs[-1].numpy())


def _table_classes():
    """The table's class of every code point, `(0x110000,)`."""
    starts, classes = np.array(text_scripts.SCRIPT_RUNS).T
    return np.repeat(classes, np.diff(np.append(starts, CODE_POINTS)))


def test_table_covers_every_code_point_in_order():
    starts = [start for start, _ in text_scripts.SCRIPT_RUNS]
    assert starts[0] == 0 and starts == sorted(set(starts)) and starts[-1] < CODE_POINTS
    classes = [c for _, c in text_scripts.SCRIPT_RUNS]
    assert all(a != b for a, b in zip(classes, classes[1:])), "neighbouring runs must differ"


def test_white_space_is_what_the_kernel_drops():
    # The kernel drops u_isUWhiteSpace code points; the word split before it uses WHITE_SPACE.
    code_points = np.arange(CODE_POINTS)
    dropped = code_points[_token_counts(code_points[:, None]) == 0]
    assert "".join(map(chr, dropped)) == text_constants.WHITE_SPACE


def test_neighbours_split_where_the_table_changes_class():
    # Every code point against the next one that is not white space (which the kernel skips):
    # two tokens exactly where the table's class changes.
    classes = _table_classes()
    space = np.zeros(CODE_POINTS, dtype=bool)
    space[[ord(c) for c in text_constants.WHITE_SPACE]] = True
    letters = np.flatnonzero(~space)
    counts = _token_counts(np.stack([letters[:-1], letters[1:]], axis=1))
    expected = np.where(classes[letters[:-1]] == classes[letters[1:]], 1, 2)
    wrong = np.flatnonzero(counts != expected)
    assert not len(wrong), [f"U+{letters[i]:04X} U+{letters[i + 1]:04X}" for i in wrong[:10]]


def test_runs_of_one_class_are_one_script_and_classes_differ():
    # Each run against the first run of its class (one token), and the first runs of every two
    # classes (two tokens): with the neighbour test above, the table's partition is the kernel's.
    runs = np.array(text_scripts.SCRIPT_RUNS)
    space = {ord(c) for c in text_constants.WHITE_SPACE}
    runs = runs[[start not in space for start in runs[:, 0]]]
    _, first = np.unique(runs[:, 1], return_index=True)
    head = dict(zip(runs[first, 1].tolist(), runs[first, 0].tolist()))
    same = np.stack([runs[:, 0], [head[c] for c in runs[:, 1]]], axis=1)
    assert (_token_counts(same) == 1).all()
    i, j = np.triu_indices(len(first), k=1)
    heads = runs[first, 0]
    assert (_token_counts(np.stack([heads[i], heads[j]], axis=1)) == 2).all()


def test_white_space_is_in_its_class():
    # `x w x` is one token when w is in x's class (the kernel skips w but notes its script).
    classes = _table_classes()
    for w in map(ord, text_constants.WHITE_SPACE):
        members = np.flatnonzero(classes == classes[w])
        x = next(c for c in members if chr(c) not in text_constants.WHITE_SPACE)
        assert _token_counts([[x, w, x]])[0] == 1, f"U+{w:04X}"


LETTERS = st.characters(blacklist_categories=("Cs",), blacklist_characters=text_constants.WHITE_SPACE)


@settings(max_examples=50, deadline=None)
@given(words=st.lists(st.text(alphabet=LETTERS, min_size=1, max_size=12), min_size=1, max_size=20))
def test_split_scripts_equals_the_layers_split(words):
    pieces = _unicode_script_split(tf.constant([w.encode() for w in words]))
    expected = [[p.decode() for p in row] for row in pieces.to_list()]
    assert [split_scripts(w) for w in words] == expected


def test_split_scripts_on_mixed_words():
    words = [
        "abc,123déjà-vu",
        "e\u0301\u0302",  # combining marks are Inherited: their own piece
        "日本語のテキスト",
        "ΟΔΟΣ-abc",
        "😀👍🏽a🇫🇷",
        "x²½Ⅻ",
        "\ufffd\u0378\U0010ffff",  # replacement character, unassigned, last code point
    ]
    pieces = _unicode_script_split(tf.constant([w.encode() for w in words]))
    expected = [[p.decode() for p in row] for row in pieces.to_list()]
    assert [split_scripts(w) for w in words] == expected
    assert split_scripts("abc,123") == ["abc", ",123"] and split_scripts("") == []
