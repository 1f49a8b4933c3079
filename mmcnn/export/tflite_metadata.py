"""Standard TFLite Metadata for `.tflite` files: what MediaPipe Tasks and tflite-support read.

`add_metadata(data, document)` writes the `TFLITE_METADATA` entry of the
metadata schema (`metadata_schema.fbs`, identifier `M001`) from the file's
`mmcnn.json` document (`mmcnn.export.edge.edge_document`), and packs the
associated files into the file as a zip archive appended to the flatbuffer
(what tflite-support's `MetadataPopulator` does):

| the document holds | the metadata says |
|---|---|
| always | name, description, version; output `probabilities`, class names in `labels.txt` |
| `preprocessing.color` (image) | input `ImageProperties` RGB, `NormalizationOptions` mean 0, std 1 |
| `preprocessing.sample_rate` (audio) | input `AudioProperties` (sample rate, 1 channel) |
| `preprocessing.regex_tokenizer` (text) | input `RegexTokenizerOptions`, vocabulary in `vocab.txt` |

`labels.txt` is a `TENSOR_AXIS_LABELS` file (one name a line, output order);
the normalization says the input is raw 0..255 pixels.

The modality decides what its `edge_metadata()` holds; this module only
reads it. The metadata flatbuffer is built here with the `flatbuffers`
package (no generated schema module is needed to write it): the slot numbers
below are the field order of `metadata_schema.fbs`.

`drop_unused_subgraphs(data)` removes subgraphs that nothing in the main
graph calls (a text file's leftover `NoOp` initializer of the tokenizer's
hash table), since MediaPipe's classifiers require a single subgraph.
"""

import io
import zipfile

import flatbuffers
import numpy as np

from mmcnn._version import __version__

METADATA_NAME = "TFLITE_METADATA"
METADATA_IDENTIFIER = b"M001"
MIN_PARSER_VERSION = "1.2.1"  # the schema version that added RegexTokenizerOptions (and audio)
LABELS_FILE = "labels.txt"
VOCABULARY_FILE = "vocab.txt"
# MediaPipe's RegexTokenizer looks these up in the vocabulary; `<START>` is left out (no start token).
PAD_TOKEN, UNKNOWN_TOKEN, START_TOKEN = "<PAD>", "<UNKNOWN>", "<START>"

# Enum values of metadata_schema.fbs.
_COLOR_RGB = 1
_LABELS, _VOCABULARY = 2, 5  # AssociatedFileType
_FEATURE, _IMAGE, _AUDIO = 1, 2, 4  # ContentProperties
_NORMALIZATION, _REGEX_TOKENIZER = 1, 6  # ProcessUnitOptions


def add_metadata(data, document):
    """The `.tflite` bytes with standard TFLite Metadata and its associated files packed in.

    Args:
        data: the `.tflite` flatbuffer (bytes).
        document: the file's `mmcnn.json` document (`edge_document`), with
            `class_names`, `modality`, `description`, `input`, `quantize` and
            `preprocessing` (the classifier's `edge_metadata()`).

    Returns:
        The flatbuffer with a `TFLITE_METADATA` entry, followed by a zip
        archive of `labels.txt` (and `vocab.txt` for a regex tokenizer).
    """

    files = {LABELS_FILE: "".join(f"{name}\n" for name in document["class_names"])}
    settings = document.get("preprocessing") or {}
    tokenizer = settings.get("regex_tokenizer")
    if tokenizer is not None:
        files[VOCABULARY_FILE] = _vocabulary_file(settings)
    metadata = _model_metadata(document, settings, tokenizer)
    out = io.BytesIO(add_litert_metadata(data, {METADATA_NAME: metadata}))
    out.seek(0, io.SEEK_END)
    # Appended uncompressed, as tflite-support's MetadataPopulator does; the flatbuffer stays valid.
    with zipfile.ZipFile(out, "a", compression=zipfile.ZIP_STORED) as archive:
        for name, text in files.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), text.encode("utf-8"))
    return out.getvalue()


def drop_unused_subgraphs(data):
    """The `.tflite` bytes without subgraphs that the main graph (subgraph 0) does not need.

    A subgraph is needed when an op's options name it (`WHILE`, `IF`,
    `CALL_ONCE`, ...), except a `CALL_ONCE` whose subgraph only creates and
    fills hash tables that no op of the main graph's reads: the converter
    keeps such an initializer (a `NoOp` subgraph) for a text model's tokenizer
    table although the file's input is token ids. Such calls are removed;
    then only a tail of unneeded subgraphs is dropped, so the indices of the
    others stay as they are; signatures of dropped subgraphs go with them."""
    from tensorflow.lite.python import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(data, 0)
    ops = schema.BuiltinOperator

    def code(op):
        c = model.operatorCodes[op.opcodeIndex]
        return max(c.builtinCode, c.deprecatedBuiltinCode)

    main = model.subgraphs[0]
    tables_read = any(code(op) in (ops.HASHTABLE_FIND, ops.HASHTABLE_SIZE) for op in main.operators or [])

    def table_initializer(op):
        if code(op) != ops.CALL_ONCE or tables_read:
            return False
        called = model.subgraphs[op.builtinOptions.initSubgraphIndex].operators or []
        return all(code(o) in (ops.HASHTABLE, ops.HASHTABLE_IMPORT) for o in called)

    dropped_calls = [op for op in main.operators or [] if table_initializer(op)]
    main.operators = [op for op in main.operators or [] if not table_initializer(op)]
    called, todo = {0}, [0]
    while todo:
        for op in model.subgraphs[todo.pop()].operators or []:
            for index in _called_subgraphs(op.builtinOptions):
                if index not in called:
                    called.add(index)
                    todo.append(index)
    keep = max(called) + 1
    if keep >= len(model.subgraphs) and not dropped_calls:
        return data
    model.subgraphs = model.subgraphs[:keep]
    model.signatureDefs = [s for s in (model.signatureDefs or []) if s.subgraphIndex < keep]
    builder = flatbuffers.Builder(len(data) + 1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _called_subgraphs(options):
    """Subgraph indices an op's builtin options name (`initSubgraphIndex`, `bodySubgraphIndex`, ...)."""
    if options is None:
        return []
    return [
        int(value)
        for key, value in vars(options).items()
        if key.lower().endswith("subgraphindex") or key == "subgraph"
    ]


def _vocabulary_file(settings):
    """`token id` lines, as MediaPipe's RegexTokenizer reads them: padding, unknown, then the vocabulary."""
    first = settings["first_token_id"]
    lines = [f"{PAD_TOKEN} {settings['pad_id']}", f"{UNKNOWN_TOKEN} {settings['oov_id']}"]
    reserved = {PAD_TOKEN, UNKNOWN_TOKEN, START_TOKEN}  # a vocabulary word spelled so maps to unknown
    vocabulary = settings["tokenizer"]["vocabulary"]
    lines += [f"{token} {first + i}" for i, token in enumerate(vocabulary) if token not in reserved]
    return "".join(f"{line}\n" for line in lines)


# ---------------------------------------------------------------- the metadata flatbuffer
def _model_metadata(document, settings, tokenizer):
    b = flatbuffers.Builder(1024)
    names = document["class_names"]
    labels = _associated_file(b, LABELS_FILE, "the class names, one a line, in output order", _LABELS)
    output = _tensor(
        b,
        "probabilities",
        f"probabilities of the {len(names)} classes"
        + (" (per-class scores: multi-label)" if document.get("multi_label") else ""),
        content=_content(b, _FEATURE, _table(b, 0)),
        files=[labels],
    )
    units = []
    if "color" in settings:
        channels = int(settings.get("channels", 3))
        mean, std = _floats(b, [0.0] * channels), _floats(b, [1.0] * channels)
        normalization = _table(b, 2, offsets={0: mean, 1: std})
        units.append(_table(b, 2, offsets={1: normalization}, uint8={0: _NORMALIZATION}))
        content = _content(b, _IMAGE, _table(b, 2, int8={0: _COLOR_RGB}))
    elif "sample_rate" in settings:
        audio = _table(b, 2, uint32={0: int(settings["sample_rate"]), 1: 1})
        content = _content(b, _AUDIO, audio)
    else:
        content = _content(b, _FEATURE, _table(b, 0))
    if tokenizer is not None:
        vocab = _associated_file(b, VOCABULARY_FILE, "the vocabulary: `token id` lines", _VOCABULARY)
        options = _table(b, 2, offsets={0: b.CreateString(tokenizer["delimiter"]), 1: _offsets(b, [vocab])})
        units.append(_table(b, 2, offsets={1: options}, uint8={0: _REGEX_TOKENIZER}))
    description = document.get("description") or ""
    if tokenizer is not None:
        description += f"; regex tokenizer: {tokenizer['limits']}"
    spec = document.get("input") or {}
    inputs = _tensor(b, spec.get("name") or "input", description, content=content, units=units)
    subgraph = _table(
        b,
        10,
        offsets={
            0: b.CreateString("main"),
            2: _offsets(b, [inputs]),
            3: _offsets(b, [output]),
        },
    )
    quantize = document.get("quantize") or "float32"
    model = _table(
        b,
        8,
        offsets={
            0: b.CreateString(f"mmcnn {document.get('modality', '')} classifier".replace("  ", " ")),
            1: b.CreateString(
                f"{len(names)} classes ({', '.join(names[:10])}{', ...' if len(names) > 10 else ''}); "
                f"{quantize}; written by mmcnn {__version__}"
            ),
            2: b.CreateString(__version__),
            3: _offsets(b, [subgraph]),
            4: b.CreateString("mmcnn"),
            7: b.CreateString(MIN_PARSER_VERSION),
        },
    )
    b.Finish(model, file_identifier=METADATA_IDENTIFIER)
    return bytes(b.Output())


def _tensor(b, name, description, content, units=(), files=()):
    """A `TensorMetadata` table: name 0, description 1, content 3, process_units 4, associated_files 6."""
    offsets = {0: b.CreateString(name), 1: b.CreateString(description), 3: content}
    if units:
        offsets[4] = _offsets(b, list(units))
    if files:
        offsets[6] = _offsets(b, list(files))
    return _table(b, 7, offsets=offsets)


def _content(b, kind, properties):
    """A `Content` table: content_properties_type 0, content_properties 1."""
    return _table(b, 3, offsets={1: properties}, uint8={0: kind})


def _associated_file(b, name, description, kind):
    """An `AssociatedFile` table: name 0, description 1, type 2."""
    return _table(b, 5, offsets={0: b.CreateString(name), 1: b.CreateString(description)}, int8={2: kind})


def _table(b, slots, offsets=None, int8=None, uint8=None, uint32=None):
    """One table of `slots` fields, from offsets of objects built before it and scalars."""
    b.StartObject(slots)
    for slot, value in (offsets or {}).items():
        b.PrependUOffsetTRelativeSlot(slot, value, 0)
    for slot, value in (uint32 or {}).items():
        b.PrependUint32Slot(slot, value, 0)
    for slot, value in (int8 or {}).items():
        b.PrependInt8Slot(slot, value, 0)
    for slot, value in (uint8 or {}).items():
        b.PrependUint8Slot(slot, value, 0)
    return b.EndObject()


def _offsets(b, items):
    b.StartVector(4, len(items), 4)
    for item in reversed(items):
        b.PrependUOffsetTRelative(item)
    return b.EndVector()


def _floats(b, values):
    b.StartVector(4, len(values), 4)
    for value in reversed(values):
        b.PrependFloat32(value)
    return b.EndVector()


def add_litert_metadata(data, entries):
    """The `.tflite` bytes with one `Model.metadata` entry (name -> bytes in a new buffer) per item."""
    from tensorflow.lite.python import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(data, 0)
    model.metadata = [m for m in (model.metadata or []) if _name(m.name) not in entries]
    for name, payload in entries.items():
        buffer = schema.BufferT()
        buffer.data = np.frombuffer(payload, dtype=np.uint8)
        model.buffers.append(buffer)
        meta = schema.MetadataT()
        meta.name = name
        meta.buffer = len(model.buffers) - 1
        model.metadata.append(meta)
    builder = flatbuffers.Builder(len(data) + sum(len(p) for p in entries.values()) + 1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _name(value):
    return value.decode() if isinstance(value, bytes) else value
