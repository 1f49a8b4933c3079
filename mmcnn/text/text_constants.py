"""The text modality's constants: reserved ids, modes, the byte budget, white space, WordPiece.

Shared by the in-graph tokenizer (`text_converter`), vocabulary learning
(`text_vocabulary`) and the pure-Python tokenizer (`text_ids`), so that they
cannot drift apart. Pure Python with no imports: `text_ids` loads this file
from beside it when it is used alone, without TensorFlow or the mmcnn package.
"""

PAD_ID = 0
OOV_ID = 1
PAD_TOKEN = "[PAD]"
OOV_TOKEN = "[UNK]"
RESERVED_TOKENS = (PAD_TOKEN, OOV_TOKEN)
NUM_RESERVED = len(RESERVED_TOKENS)

MODES = ("word", "unicode_script", "wordpiece", "char", "byte")
NORMALIZATION_FORMS = ("NFC", "NFD", "NFKC", "NFKD")

# Each text is cut to `max_tokens * BYTES_PER_TOKEN` bytes before anything else,
# so that a pathological input (a 10 MB line) costs the same as a long normal
# one. 64 bytes per token is far above real token lengths (English words average
# ~6 bytes; one UTF-8 character is at most 4 bytes) so normal texts still yield
# `max_tokens` tokens before the cut matters.
BYTES_PER_TOKEN = 64

# The Unicode White_Space property: what tensorflow-text's WhitespaceTokenizer
# splits on. Python's str.split() differs (it also splits on U+001C..U+001F).
WHITE_SPACE = (
    "\u0009\u000a\u000b\u000c\u000d\u0020\u0085\u00a0\u1680"
    "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
# Those of more than one UTF-8 byte, which the in-graph tokenizer turns into ASCII spaces first.
MULTIBYTE_WHITE_SPACE = "".join(c for c in WHITE_SPACE if ord(c) > 0x7F)

# WordPiece settings shared by the learner and the in-graph tokenizer.
WORDPIECE_SUFFIX = "##"
WORDPIECE_MAX_BYTES_PER_WORD = 100  # longer words become [UNK], as in BERT
