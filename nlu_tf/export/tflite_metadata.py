"""TFLite Model Metadata, written from the published schema with the `flatbuffers` package.

Android Studio's model binding, the Task Library and MediaPipe read a model's description
from a `TFLITE_METADATA` buffer of the `.tflite` (a `ModelMetadata` flatbuffer, file
identifier "M001", as `metadata_schema.fbs` of tflite-support defines it) and its
associated files from a zip archive appended to the model. tflite-support, the library
that writes it, pins numpy < 2 and protobuf < 4, and no maintained package ships the
schema's generated Python code without it; the schema is small and stable (fields are
only ever appended), so the tables are built here with `flatbuffers.Builder`, each field
at the slot the schema gives it. `make client-test` reads the result back with
tflite-support's `MetadataDisplayer`.
"""

import dataclasses
import io
import zipfile

import flatbuffers
from ai_edge_litert import schema_py_generated as schema

from nlu_tf.export.flatbuffer_graph import FlatGraph

METADATA_NAME = b"TFLITE_METADATA"
FILE_IDENTIFIER = b"M001"
# BertTokenizerOptions and input_process_units were added in schema version 1.1.0.
MIN_PARSER_VERSION = "1.1.0"

# AssociatedFileType and union tags of the schema.
VOCABULARY, TENSOR_VALUE_LABELS, TENSOR_AXIS_LABELS, DESCRIPTIONS = 5, 3, 2, 1
_BERT_TOKENIZER_OPTIONS = 4      # ProcessUnitOptions
_FEATURE_PROPERTIES = 1          # ContentProperties


@dataclasses.dataclass(frozen=True)
class AssociatedFile:
    """A file packed with the model: `name` in the archive, its `kind` (a type above)."""

    name: str
    description: str
    kind: int
    content: bytes


def lines_file(name, description, kind, lines):
    """An `AssociatedFile` of text lines (a vocabulary, a label file), as written beside."""
    return AssociatedFile(name, description, kind, ("\n".join(lines) + "\n").encode("utf-8"))


@dataclasses.dataclass(frozen=True)
class TensorInfo:
    """The metadata of one input or output tensor (`labels`: its label file, if any)."""

    name: str
    description: str
    labels: AssociatedFile = None


@dataclasses.dataclass(frozen=True)
class ModelInfo:
    """What `ModelMetadata` says: the model, its one subgraph's tensors in the subgraph's
    order, and the vocabulary of its BERT tokenizer (None: no tokenizer unit)."""

    name: str
    description: str
    version: str
    author: str
    license: str
    inputs: tuple
    outputs: tuple
    vocabulary: AssociatedFile = None


def _table(builder, fields):
    """Builds a table from `(slot, kind, value)`, kind "offset", "byte" or "ubyte"; None
    values are left out."""
    present = [(slot, kind, value) for slot, kind, value in fields if value is not None]
    builder.StartObject(max((slot for slot, _, _ in fields), default=-1) + 1)
    for slot, kind, value in present:
        if kind == "offset":
            builder.PrependUOffsetTRelativeSlot(slot, value, 0)
        elif kind == "byte":
            builder.PrependInt8Slot(slot, value, 0)
        else:
            builder.PrependUint8Slot(slot, value, 0)
    return builder.EndObject()


def _vector(builder, offsets):
    builder.StartVector(4, len(offsets), 4)
    for offset in reversed(offsets):
        builder.PrependUOffsetTRelative(offset)
    return builder.EndVector()


def _string(builder, text):
    return None if text is None else builder.CreateString(text)


def _associated_file(builder, file):
    name, description = _string(builder, file.name), _string(builder, file.description)
    return _table(builder, [(0, "offset", name), (1, "offset", description),
                            (2, "byte", file.kind)])


def _tensor(builder, tensor):
    name, description = _string(builder, tensor.name), _string(builder, tensor.description)
    properties = _table(builder, [])  # FeatureProperties: no fields
    content = _table(builder, [(0, "ubyte", _FEATURE_PROPERTIES), (1, "offset", properties)])
    files = (_vector(builder, [_associated_file(builder, tensor.labels)])
             if tensor.labels is not None else None)
    return _table(builder, [(0, "offset", name), (1, "offset", description),
                            (3, "offset", content), (6, "offset", files)])


def _tokenizer_unit(builder, vocabulary):
    files = _vector(builder, [_associated_file(builder, vocabulary)])
    options = _table(builder, [(0, "offset", files)])
    return _table(builder, [(0, "ubyte", _BERT_TOKENIZER_OPTIONS), (1, "offset", options)])


def metadata_flatbuffer(info):
    """The `ModelMetadata` flatbuffer (bytes) of a `ModelInfo`."""
    builder = flatbuffers.Builder(1024)
    inputs = _vector(builder, [_tensor(builder, tensor) for tensor in info.inputs])
    outputs = _vector(builder, [_tensor(builder, tensor) for tensor in info.outputs])
    units = (_vector(builder, [_tokenizer_unit(builder, info.vocabulary)])
             if info.vocabulary is not None else None)
    subgraph = _table(builder, [(0, "offset", _string(builder, "main")),
                                (2, "offset", inputs), (3, "offset", outputs),
                                (5, "offset", units)])
    subgraphs = _vector(builder, [subgraph])
    strings = [_string(builder, value) for value in
               (info.name, info.description, info.version, info.author, info.license,
                MIN_PARSER_VERSION)]
    name, description, version, author, license_, parser = strings
    root = _table(builder, [(0, "offset", name), (1, "offset", description),
                            (2, "offset", version), (3, "offset", subgraphs),
                            (4, "offset", author), (5, "offset", license_),
                            (7, "offset", parser)])
    builder.Finish(root, file_identifier=FILE_IDENTIFIER)
    return bytes(builder.Output())


def packed_files(info):
    """Every associated file of a `ModelInfo`, once each, by name."""
    files = [info.vocabulary] if info.vocabulary is not None else []
    files += [tensor.labels for tensor in info.inputs + info.outputs if tensor.labels is not None]
    return {file.name: file.content for file in files}


def attach_metadata(content, info):
    """Returns the `.tflite` `content` with the metadata of `info` and its files packed.

    The `TFLITE_METADATA` buffer replaces one already there; the associated files follow
    the model as an uncompressed zip archive (runtimes read the flatbuffer and ignore it).
    """
    graph = FlatGraph(content)
    model = graph.model
    buffer = schema.BufferT()
    buffer.data = list(metadata_flatbuffer(info))
    model.buffers.append(buffer)
    entries = [entry for entry in (model.metadata or []) if entry.name != METADATA_NAME]
    entry = schema.MetadataT()
    entry.name, entry.buffer = METADATA_NAME, len(model.buffers) - 1
    model.metadata = entries + [entry]
    archive = io.BytesIO()
    archive.write(graph.serialize())
    with zipfile.ZipFile(archive, "a", zipfile.ZIP_STORED) as zipped:
        for name, data in packed_files(info).items():
            zipped.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data)
    return archive.getvalue()


def subgraph_tensor_names(content):
    """The signature names of the first subgraph's inputs and outputs, in subgraph order."""
    graph = FlatGraph(content)
    signature = graph.model.signatureDefs[0]
    names = {}
    for tensor_map in list(signature.inputs) + list(signature.outputs):
        names[int(tensor_map.tensorIndex)] = tensor_map.name.decode("utf-8")
    subgraph = graph.subgraph
    return ([names[int(i)] for i in subgraph.inputs], [names[int(i)] for i in subgraph.outputs])
