"""Writes a mode's runtime contract into its `.tflite`: operator versions and
`min_runtime_version`.

A TF Lite runtime refuses a file that asks for an operator version it does not know, and
nothing else: the `min_runtime_version` metadata is informative only. So a mode that must
not run on older runtimes raises an operator's version (`Mode.op_floor`), and the metadata
string is raised to the mode's `min_runtime` where the converter wrote a lower one.
"""

from ai_edge_litert import schema_py_generated as schema

from nlu_tf.export.flatbuffer_graph import FlatGraph, builtin_code
from nlu_tf.export.modes import MODES, version_tuple

METADATA_KEY = b"min_runtime_version"
_NAMES = {value: name for name, value in vars(schema.BuiltinOperator).items()
          if not name.startswith("_")}


def _metadata_buffer(model):
    for entry in model.metadata or []:
        if entry.name == METADATA_KEY:
            return model.buffers[entry.buffer]
    return None


def min_runtime_version(content):
    """The `min_runtime_version` string a `.tflite` declares ("" if none)."""
    model = schema.Model.GetRootAs(bytearray(content), 0)
    for index in range(model.MetadataLength()):
        entry = model.Metadata(index)
        if entry.Name() == METADATA_KEY:
            data = model.Buffers(entry.Buffer()).DataAsNumpy()
            return bytes(data).split(b"\0")[0].decode("ascii", "replace")
    return ""


def op_versions(content):
    """Builtin operator name -> the highest version its opcodes are written with."""
    model = schema.Model.GetRootAs(bytearray(content), 0)
    versions = {}
    for index in range(model.OperatorCodesLength()):
        code = model.OperatorCodes(index)
        name = _NAMES.get(max(code.BuiltinCode(), code.DeprecatedBuiltinCode()), "?")
        versions[name] = max(versions.get(name, 0), code.Version())
    return versions


def apply_contract(content, mode):
    """Returns `content` with the operator floors and the minimum runtime of `mode` written.

    The metadata string is written into a 16-byte buffer, as the converter writes it.
    """
    entry = MODES[mode]
    declared = min_runtime_version(content)
    floors = dict(entry.op_floor)
    current = op_versions(content)
    needs_floor = any(current.get(name, version) < version for name, version in floors.items())
    needs_version = version_tuple(declared) < version_tuple(entry.min_runtime)
    if not needs_floor and not needs_version:
        return content
    graph = FlatGraph(content)
    for code in graph.model.operatorCodes:
        floor = floors.get(_NAMES.get(builtin_code(code)))
        if floor is not None and code.version < floor:
            code.version = floor
    if needs_version:
        buffer = _metadata_buffer(graph.model)
        if buffer is None:
            buffer = schema.BufferT()
            graph.model.buffers.append(buffer)
            entry_t = schema.MetadataT()
            entry_t.name, entry_t.buffer = METADATA_KEY, len(graph.model.buffers) - 1
            graph.model.metadata = (graph.model.metadata or []) + [entry_t]
        text = entry.min_runtime.encode("ascii")
        buffer.data = list(text.ljust(max(16, len(text)), b"\0"))
    return graph.serialize()
