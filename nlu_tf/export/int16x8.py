"""16x8 quantization: int16 activations, int8 weights, with TFLite's own 16x8 quantizer.

`TFLiteConverter` with `supported_ops =
[EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8, TFLITE_BUILTINS]` converts to a
float graph, then calibrates and quantizes it with
`Calibrator.calibrate_and_quantize` (activations int16, biases int64, float kept where an
op has no int16 kernel). On the BERT graph that quantizer fails or yields a model the
runtime refuses, for two reasons this module removes from the float graph first:

- Keras embedding lookups wrap negative ids (`select(ids < 0, ids + n, ids)`): int32
  arithmetic the 16x8 quantizer tries to quantize ("Max and min for dynamic tensors should
  be recorded during calibration"). Token, segment and position ids are never negative,
  so the wrap is dropped and GATHER reads the ids directly.
- Layer norm's variance uses SQUARED_DIFFERENCE, which the quantizer turns into int16
  although LiteRT has no int16 kernel for it. It becomes SUB then MUL (d * d): the same
  value, with int16 kernels.

The converter has no hook between conversion and quantization, so `quantize_int16x8`
runs the same two steps itself on the prepared float graph.
"""

import collections

import flatbuffers
import numpy as np
from ai_edge_litert import schema_py_generated as schema

_OP = schema.BuiltinOperator


def _code(operator_code):
    return max(operator_code.builtinCode, operator_code.deprecatedBuiltinCode)


class _Graph:
    """The first subgraph of a model in the flatbuffer object API, with op-code helpers."""

    def __init__(self, content):
        self.model = schema.ModelT.InitFromPackedBuf(bytearray(content), 0)
        self.subgraph = self.model.subgraphs[0]

    def kind(self, op):
        return _code(self.model.operatorCodes[op.opcodeIndex])

    def opcode(self, builtin):
        for index, operator_code in enumerate(self.model.operatorCodes):
            if _code(operator_code) == builtin:
                return index
        operator_code = schema.OperatorCodeT()
        operator_code.builtinCode = builtin
        operator_code.deprecatedBuiltinCode = min(builtin, _OP.PLACEHOLDER_FOR_GREATER_OP_CODES)
        operator_code.version = 1
        self.model.operatorCodes.append(operator_code)
        return len(self.model.operatorCodes) - 1

    def new_tensor(self, like, suffix):
        tensor = schema.TensorT()
        tensor.shape = None if like.shape is None else np.array(like.shape)
        tensor.shapeSignature = None if like.shapeSignature is None else np.array(
            like.shapeSignature)
        tensor.type = like.type
        tensor.name = like.name + suffix.encode()
        self.model.buffers.append(schema.BufferT())
        tensor.buffer = len(self.model.buffers) - 1
        self.subgraph.tensors.append(tensor)
        return len(self.subgraph.tensors) - 1

    def serialize(self):
        # The calibrator's op resolver fails on an operator code no operator uses.
        used = sorted({op.opcodeIndex for graph in self.model.subgraphs
                       for op in graph.operators})
        index = {old: new for new, old in enumerate(used)}
        self.model.operatorCodes = [self.model.operatorCodes[i] for i in used]
        for graph in self.model.subgraphs:
            for op in graph.operators:
                op.opcodeIndex = index[op.opcodeIndex]
        builder = flatbuffers.Builder(1024)
        builder.Finish(self.model.Pack(builder), file_identifier=b"TFL3")
        return bytes(builder.Output())


def _drop_index_wraps(graph):
    """Removes every `SELECT_V2(LESS(x, _), ADD(x, _), x)`; its consumers read x."""
    subgraph = graph.subgraph
    producer = {int(out): op for op in subgraph.operators for out in op.outputs}
    uses = collections.Counter(int(i) for op in subgraph.operators for i in op.inputs)
    uses.update(int(i) for i in subgraph.outputs)
    dropped, replacement = set(), {}
    for op in subgraph.operators:
        if graph.kind(op) != _OP.SELECT_V2:
            continue
        condition, wrapped, ids = (int(i) for i in op.inputs)
        less, add = producer.get(condition), producer.get(wrapped)
        if (less is not None and add is not None and graph.kind(less) == _OP.LESS
                and graph.kind(add) == _OP.ADD and int(less.inputs[0]) == ids
                and int(add.inputs[0]) == ids and uses[condition] == uses[wrapped] == 1):
            replacement[int(op.outputs[0])] = ids
            dropped.update((id(op), id(less), id(add)))
    subgraph.operators = [op for op in subgraph.operators if id(op) not in dropped]
    for op in subgraph.operators:
        op.inputs = [replacement.get(int(i), int(i)) for i in op.inputs]
    subgraph.outputs = [replacement.get(int(i), int(i)) for i in subgraph.outputs]
    return len(replacement)


def _split_squared_differences(graph):
    """Replaces every `SQUARED_DIFFERENCE(a, b)` by `d = SUB(a, b); MUL(d, d)`."""
    operators, count = [], 0
    for op in graph.subgraph.operators:
        if graph.kind(op) != _OP.SQUARED_DIFFERENCE:
            operators.append(op)
            continue
        output = graph.subgraph.tensors[op.outputs[0]]
        difference = graph.new_tensor(output, "/difference")
        sub, mul = schema.OperatorT(), schema.OperatorT()
        sub.opcodeIndex, sub.inputs, sub.outputs = graph.opcode(_OP.SUB), op.inputs, [difference]
        sub.builtinOptionsType, sub.builtinOptions = (schema.BuiltinOptions.SubOptions,
                                                      schema.SubOptionsT())
        mul.opcodeIndex, mul.inputs, mul.outputs = (graph.opcode(_OP.MUL),
                                                    [difference, difference], op.outputs)
        mul.builtinOptionsType, mul.builtinOptions = (schema.BuiltinOptions.MulOptions,
                                                      schema.MulOptionsT())
        operators += [sub, mul]
        count += 1
    graph.subgraph.operators = operators
    return count


def prepare_for_int16x8(content):
    """Rewrites a float `.tflite` so the 16x8 quantizer can quantize it (see the module).

    Returns:
        `(bytes, rewrites)`: the float model, and a list of what was changed (for
        `model_info.json`), empty when nothing was.
    """
    graph = _Graph(content)
    wraps = _drop_index_wraps(graph)
    squares = _split_squared_differences(graph)
    rewrites = []
    if wraps:
        rewrites.append(f"dropped {wraps} negative-id wrap(s) (LESS, ADD, SELECT_V2) before "
                        f"the embedding GATHERs; ids are never negative")
    if squares:
        rewrites.append(f"split {squares} SQUARED_DIFFERENCE (no int16 kernel) into SUB and MUL")
    return graph.serialize(), rewrites


def quantize_int16x8(float_content, representative):
    """Calibrates and quantizes a float model to 16x8, as the converter's 16x8 mode does.

    Args:
        float_content: a builtin-ops float `.tflite` (already `prepare_for_int16x8`-ed).
        representative: calibration inputs, a list of input dicts of one shape.

    Returns:
        The quantized model (bytes): int16 activations, int8 weights, int64 biases, float
        inputs and outputs as in the float model; float kept for ops without an int16 kernel.
    """
    import tensorflow as tf
    from tensorflow.lite.python.optimize import calibrator

    quantizer = calibrator.Calibrator(calibrator.add_intermediate_tensors(float_content))
    return quantizer.calibrate_and_quantize(lambda: iter(representative), tf.float32,
                                            tf.float32, True, tf.int16, tf.int64)
