"""Editing a `.tflite` graph in the flatbuffer object API: the rewrites of the export modes
(`int16x8`, `fp16_gather`, `runtime_contract`) share this helper.

Index vectors are kept as Python lists of ints: the object API packs a numpy array with its
own element size, so an int64 array would be written into an int32 vector as garbage.
"""

import flatbuffers
import numpy as np
from ai_edge_litert import schema_py_generated as schema

OP = schema.BuiltinOperator
FILE_IDENTIFIER = b"TFL3"


def builtin_code(operator_code):
    """The builtin operator of an `OperatorCodeT` (new codes live in `builtinCode`)."""
    return max(operator_code.builtinCode, operator_code.deprecatedBuiltinCode)


class FlatGraph:
    """A model in the object API, its first subgraph at hand, with op-code helpers.

    Args:
        content: the `.tflite` bytes.
    """

    def __init__(self, content):
        self.model = schema.ModelT.InitFromPackedBuf(bytearray(content), 0)
        self.subgraph = self.model.subgraphs[0]

    def kind(self, op):
        """The builtin operator of `op`."""
        return builtin_code(self.model.operatorCodes[op.opcodeIndex])

    def opcode(self, builtin, version=1):
        """The index of the operator code of `builtin`, added (at `version`) if missing."""
        for index, operator_code in enumerate(self.model.operatorCodes):
            if builtin_code(operator_code) == builtin:
                return index
        operator_code = schema.OperatorCodeT()
        operator_code.builtinCode = builtin
        operator_code.deprecatedBuiltinCode = min(builtin, OP.PLACEHOLDER_FOR_GREATER_OP_CODES)
        operator_code.version = version
        self.model.operatorCodes.append(operator_code)
        return len(self.model.operatorCodes) - 1

    def producers(self):
        """Tensor index -> the operator of the first subgraph that writes it."""
        return {int(out): op for op in self.subgraph.operators for out in op.outputs}

    def new_tensor(self, like, suffix, tensor_type=None):
        """Adds a tensor shaped as the `TensorT` `like` (of `tensor_type`, default like's),
        named like's name + `suffix`, with an empty buffer; returns its index."""
        tensor = schema.TensorT()
        tensor.shape = None if like.shape is None else np.array(like.shape, np.int32)
        tensor.shapeSignature = (None if like.shapeSignature is None
                                 else np.array(like.shapeSignature, np.int32))
        tensor.type = like.type if tensor_type is None else tensor_type
        tensor.name = like.name + suffix.encode()
        self.model.buffers.append(schema.BufferT())
        tensor.buffer = len(self.model.buffers) - 1
        self.subgraph.tensors.append(tensor)
        return len(self.subgraph.tensors) - 1

    def serialize(self):
        """The model as `.tflite` bytes, operator codes no operator uses dropped (the
        calibrator's op resolver fails on them)."""
        used = sorted({op.opcodeIndex for graph in self.model.subgraphs
                       for op in graph.operators})
        index = {old: new for new, old in enumerate(used)}
        self.model.operatorCodes = [self.model.operatorCodes[i] for i in used]
        for graph in self.model.subgraphs:
            for op in graph.operators:
                op.opcodeIndex = index[op.opcodeIndex]
        builder = flatbuffers.Builder(1024)
        builder.Finish(self.model.Pack(builder), file_identifier=FILE_IDENTIFIER)
        return bytes(builder.Output())


def new_operator(opcode_index, inputs, outputs, options_type=0, options=None):
    """An `OperatorT` (index vectors as lists of ints)."""
    op = schema.OperatorT()
    op.opcodeIndex = opcode_index
    op.inputs, op.outputs = [int(i) for i in inputs], [int(o) for o in outputs]
    op.builtinOptionsType, op.builtinOptions = options_type, options
    return op
