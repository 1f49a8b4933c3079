"""Token ids without TensorFlow: a pure-Python twin of `TextTokenizer`.

A LiteRT or ONNX text model takes token ids `int32 (batch, max_tokens)`, since
the tensorflow-text ops of the in-graph tokenizer have no built-in kernel. The
app then tokenizes itself; `PythonTokenizer` does it with the standard library
(plus NumPy for the output array) and gives the ids the layer gives, for the
modes whose rules the standard library can state exactly:

| mode | reproduced | how |
|---|---|---|
| `"word"` | yes | split on the Unicode `White_Space` characters (ICU's `u_isUWhiteSpace`) |
| `"char"` | yes | one token per code point |
| `"byte"` | yes | one token per UTF-8 byte, id `byte + 2` |
| `"unicode_script"` | yes | split on white space, then where ICU's Script changes (`text_scripts.py`) |
| `"wordpiece"` | no | BERT's ICU-class split and FastWordpiece matching are not reimplemented |

The cleaning steps are the layer's, in its order: cut to `max_tokens * 64`
bytes; invalid UTF-8 to U+FFFD (each maximal invalid subpart, as ICU and
Python's `errors="replace"` both do); with `lowercase`, ICU's NFKC_Casefold
(default-ignorable code points removed, full case folding, NFKC); then the
`normalization` form with `unicodedata.normalize`.

Caveat: `unicodedata` follows the Unicode version of the running Python (14.0
for Python 3.11), ICU inside tensorflow-text 2.21 a later one. Measured on every
code point up to U+2FFFF: the only differences are characters that Python 3.11
does not know yet (general category `Cn`, e.g. U+1C89, assigned in Unicode 16),
which ICU case-folds or decomposes and Python keeps as they are.

Mode `"unicode_script"` splits each word where tensorflow-text's kernel does:
wherever ICU's `uscript_getScript` differs from the previous code point's
(Common and Inherited are scripts like any other: "abc,123" -> "abc", ",123";
"e\u0301" -> "e", "\u0301"). `unicodedata` has no Script property, so the
classes come from `text_scripts.py`, a table of runs read off the kernel
itself (`text_scripts_generator.py`; checked against the kernel on every code
point by tests/text/test_text_scripts.py). Code points assigned after the
kernel's Unicode version are in its Unknown class, as in the kernel.

This module imports no TensorFlow, so that an app or a microcontroller host
script can use it with `ai_edge_litert` or `onnxruntime` alone. Its constants
(reserved ids, modes, white space, ...) are those of the in-graph tokenizer, in
`text_constants.py`, and the script table is `text_scripts.py`: pure-Python
files it needs beside it. To use it outside mmcnn, copy the three files
(`text_ids.py`, `text_constants.py`, `text_scripts.py`) into one folder, then
import `text_ids` or load it by its path (it then loads the other two from the
same folder).
"""

import bisect
import importlib.util
import os
import re
import unicodedata

import numpy as np


def _load_sibling(name):
    """Loads `name.py` from this file's folder by its path (used when this file is loaded alone)."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), f"{name}.py")
    if not os.path.isfile(path):
        raise ImportError(
            f"text_ids.py needs {name}.py in the same folder; copy text_ids.py, text_constants.py "
            f"and text_scripts.py together. Not found: {path}"
        )
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


try:
    from . import text_constants as _constants
    from . import text_scripts as _scripts
except ImportError:
    # Loaded alone by its path, outside the mmcnn package (which would import TensorFlow).
    _constants = _load_sibling("text_constants")
    _scripts = _load_sibling("text_scripts")

PAD_ID = _constants.PAD_ID
OOV_ID = _constants.OOV_ID
RESERVED_TOKENS = _constants.RESERVED_TOKENS
NUM_RESERVED = _constants.NUM_RESERVED
BYTES_PER_TOKEN = _constants.BYTES_PER_TOKEN
MODES = _constants.MODES
NORMALIZATION_FORMS = _constants.NORMALIZATION_FORMS

REPRODUCED_MODES = ("word", "unicode_script", "char", "byte")
_REFUSED = {
    "wordpiece": (
        "BERT's basic split (ICU punctuation and CJK classes) and FastWordpiece's longest-match "
        "rules are not reimplemented in Python"
    ),
}

_SPLIT_WORDS = re.compile(f"[{re.escape(_constants.WHITE_SPACE)}]+")

# The runs of `text_scripts.SCRIPT_RUNS`, for a binary search by code point.
_SCRIPT_STARTS = tuple(start for start, _ in _scripts.SCRIPT_RUNS)
_SCRIPT_CLASSES = tuple(script for _, script in _scripts.SCRIPT_RUNS)

# Default_Ignorable_Code_Point (DerivedCoreProperties.txt, stable since Unicode
# 9): NFKC_Casefold maps each of these to nothing.
_DEFAULT_IGNORABLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e0fff]"
)


class PythonTokenizer:
    """Raw texts -> int32 token ids `(n, max_tokens)`, equal to `TextTokenizer`'s.

    Build it from a `TextTokenizer` layer (`from_layer`) or from the settings
    and vocabulary that ship beside an exported model (`from_config`); calling
    it on a list of texts gives the ids the layer gives in graph: 0 padding,
    1 out-of-vocabulary, vocabulary tokens from 2, rows truncated or padded to
    `max_tokens`.

    Modes `"word"`, `"unicode_script"`, `"char"` and `"byte"` are
    reproduced; `"wordpiece"` raises `ValueError` saying why.

    Args:
        mode: `"word"`, `"unicode_script"`, `"char"` or `"byte"`.
        max_tokens: length of every output row.
        vocabulary: the tokens of ids 2, 3, ... (without `"[PAD]"` and
            `"[UNK]"`); `None` in byte mode.
        lowercase: case-fold (NFKC_Casefold) before tokenizing.
        normalization: `"NFC"`, `"NFD"`, `"NFKC"`, `"NFKD"` or `None`.

    Input shape:
        A list (or 1-D array) of `n` texts, `str` or UTF-8 `bytes`; one
        string is a batch of one.

    Output shape:
        int32 NumPy array `(n, max_tokens)`.

    Example:

    >>> tokenizer = PythonTokenizer(mode="word", max_tokens=6, vocabulary=["the", "cat", "dog", "sat"])
    >>> tokenizer(["The CAT sat on the mat"]).tolist()
    [[2, 3, 5, 1, 2, 1]]
    >>> PythonTokenizer(mode="unicode_script", max_tokens=8, vocabulary=["x"]).tokens("Naïve,123 日本語!")
    ['naïve', ',123', '日本語', '!']
    """

    def __init__(self, mode="word", max_tokens=256, vocabulary=None, lowercase=True, normalization="NFKC"):
        if mode in _REFUSED:
            raise ValueError(
                f"PythonTokenizer cannot reproduce mode={mode!r}: {_REFUSED[mode]}. Reproduced modes: "
                f"{REPRODUCED_MODES}; for {mode!r} send raw texts to the SavedModel's `serving_default` "
                "signature, which tokenizes in graph."
            )
        if mode not in MODES:
            raise ValueError(f"`mode` must be one of {REPRODUCED_MODES}. Received: mode={mode!r}")
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, (int, np.integer)) or max_tokens < 1:
            raise ValueError(f"`max_tokens` must be a positive integer. Received: max_tokens={max_tokens!r}")
        if not isinstance(lowercase, bool):
            raise ValueError(f"`lowercase` must be True or False. Received: lowercase={lowercase!r}")
        if normalization is not None and normalization not in NORMALIZATION_FORMS:
            raise ValueError(
                f"`normalization` must be one of {NORMALIZATION_FORMS} or None. "
                f"Received: normalization={normalization!r}"
            )
        if mode == "byte" and vocabulary is not None:
            raise ValueError(
                "`vocabulary` must be None in byte mode (ids are byte values + 2). "
                f"Received: vocabulary with {len(vocabulary)} tokens"
            )
        if mode != "byte":
            if vocabulary is None or isinstance(vocabulary, (str, bytes)):
                raise ValueError(
                    f"`vocabulary` must be a list of strings in mode={mode!r}. "
                    f"Received: vocabulary={vocabulary!r:.80}"
                )
            vocabulary = list(vocabulary)
            for token in vocabulary:
                if not isinstance(token, str) or not token or token in RESERVED_TOKENS:
                    raise ValueError(
                        "`vocabulary` must hold non-empty strings other than the reserved tokens "
                        f"{RESERVED_TOKENS}. Received: token {token!r}"
                    )
            if len(set(vocabulary)) != len(vocabulary):
                raise ValueError("`vocabulary` must not repeat tokens.")
        self.mode = mode
        self.max_tokens = int(max_tokens)
        self.vocabulary = vocabulary
        self.lowercase = lowercase
        self.normalization = normalization
        self._ids = None if vocabulary is None else {t: i for i, t in enumerate(vocabulary, NUM_RESERVED)}

    @classmethod
    def from_config(cls, settings, vocabulary=None):
        """Builds it from tokenizer settings (a `TextTokenizer` config or the exported settings).

        Args:
            settings: mapping with `mode`, `max_tokens`, `lowercase` and
                `normalization` (other keys are ignored); may hold
                `vocabulary` itself.
            vocabulary: the tokens of ids 2, 3, ...; overrides
                `settings["vocabulary"]`.
        """
        missing = [k for k in ("mode", "max_tokens", "lowercase", "normalization") if k not in settings]
        if missing:
            raise ValueError(f"`settings` lacks {missing}. Received keys: {sorted(settings)}")
        if vocabulary is None:
            vocabulary = settings.get("vocabulary")
        return cls(
            mode=settings["mode"],
            max_tokens=settings["max_tokens"],
            vocabulary=vocabulary,
            lowercase=settings["lowercase"],
            normalization=settings["normalization"],
        )

    @classmethod
    def from_layer(cls, layer):
        """Builds it from a `TextTokenizer` layer (its vocabulary must be learned)."""
        config = layer.get_config()
        if config["mode"] != "byte" and config["vocabulary"] is None:
            raise ValueError(
                f"The TextTokenizer {layer.name!r} has no vocabulary yet: call `adapt(texts)` first."
            )
        return cls.from_config(config)

    def get_config(self):
        return {
            "mode": self.mode,
            "max_tokens": self.max_tokens,
            "vocabulary": self.vocabulary,
            "lowercase": self.lowercase,
            "normalization": self.normalization,
        }

    # ------------------------------------------------------------------ steps

    def clean(self, text):
        """One raw text (`str` or `bytes`) -> the cleaned `str` the layer splits."""
        data = utf8_bytes(text)[: self.max_tokens * BYTES_PER_TOKEN]
        # Maximal invalid subparts -> one U+FFFD each: the rule of ICU's converter too.
        text = data.decode("utf-8", errors="replace")
        if self.lowercase:
            text = nfkc_casefold(text)
        if self.normalization is not None:
            text = unicodedata.normalize(self.normalization, text)
        return text

    def tokens(self, text):
        """One raw text -> its token strings (byte mode: its byte values), untruncated."""
        text = self.clean(text)
        if self.mode == "byte":
            return list(text.encode("utf-8"))
        if self.mode == "char":
            return list(text)
        words = [w for w in _SPLIT_WORDS.split(text) if w]
        if self.mode == "unicode_script":
            return [piece for word in words for piece in split_scripts(word)]
        return words

    def __call__(self, texts):
        if isinstance(texts, (str, bytes, np.str_, np.bytes_)):
            texts = [texts]
        texts = list(np.asarray(texts, dtype=object).reshape(-1)) if isinstance(texts, np.ndarray) else texts
        ids = np.zeros((len(texts), self.max_tokens), dtype=np.int32)
        for row, text in enumerate(texts):
            tokens = self.tokens(text)[: self.max_tokens]
            if self.mode == "byte":
                values = [b + NUM_RESERVED for b in tokens]
            else:
                values = [self._ids.get(t, OOV_ID) for t in tokens]
            ids[row, : len(values)] = values
        return ids


def script_class(character):
    """The class of `character`'s Unicode Script in `text_scripts.py` (equal classes: one script)."""
    return _SCRIPT_CLASSES[bisect.bisect_right(_SCRIPT_STARTS, ord(character)) - 1]


def split_scripts(word):
    """One word (no white space) -> its runs of one Unicode Script, as tensorflow-text splits it.

    A new piece starts wherever the script differs from the previous
    character's; Common (punctuation, digits, most symbols) and Inherited
    (combining marks) are scripts like the others.

    Example:

    >>> split_scripts("abc,123déjà-vu")
    ['abc', ',123', 'déjà', '-', 'vu']
    """
    pieces, start, previous = [], 0, None
    for i, character in enumerate(word):
        script = script_class(character)
        if i and script != previous:
            pieces.append(word[start:i])
            start = i
        previous = script
    if word:
        pieces.append(word[start:])
    return pieces


def nfkc_casefold(text):
    """ICU's NFKC_Casefold (what `tensorflow_text.case_fold_utf8` applies), from `unicodedata`.

    Default-ignorable code points are removed, then full case folding and NFKC
    are applied until nothing changes (one round suffices for almost every
    text; a second catches folds whose NFKC result folds again).
    """
    text = unicodedata.normalize("NFKC", _DEFAULT_IGNORABLE.sub("", text))
    for _ in range(3):
        folded = unicodedata.normalize("NFKC", text.casefold())
        folded = _DEFAULT_IGNORABLE.sub("", folded)
        if folded == text:
            break
        text = folded
    return text


def utf8_bytes(text):
    """UTF-8 bytes of one text (`str` or `bytes`), repaired the one way mmcnn repairs texts.

    Python strings can hold lone surrogates (bytes decoded with
    errors="surrogateescape", say), which TensorFlow refuses: they go back to
    their original bytes, or to an invalid UTF-8 sequence, which the tokenizers
    (in graph and here) turn into U+FFFD.
    """
    if isinstance(text, np.str_):
        text = str(text)
    if isinstance(text, (bytes, np.bytes_)):
        return bytes(text)
    if not isinstance(text, str):
        raise ValueError(
            f"texts must be strings or UTF-8 bytes. Received {type(text).__name__}: {text!r:.60}"
        )
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        try:
            return text.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            return text.encode("utf-8", "surrogatepass")


def utf8_texts(items):
    """`utf8_bytes` of each text, naming the first item that is not a string."""
    texts = []
    for i, item in enumerate(items):
        try:
            texts.append(utf8_bytes(item))
        except ValueError:
            raise ValueError(
                f"texts[{i}] must be a string (or UTF-8 bytes). Received {type(item).__name__}: {item!r:.60}"
            ) from None
    return texts
