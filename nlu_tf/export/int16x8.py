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

After quantization, `fit_int16_add_sub_scales` widens the output scale of an int16 ADD or
SUB where the runtimes apps ship need it: TF Lite 2.14 prepares such an op with an output
rescale `2 * max(input scales) / (2^15 * output scale)` that must stay below 1, and aborts
the process when it does not (a difference of two nearly equal values, as layer norm's
`x - mean`, gets a calibrated output range below that). The wider scale costs resolution
only below the inputs' own step.
"""

import collections

import numpy as np
from ai_edge_litert import schema_py_generated as schema

from nlu_tf.export.flatbuffer_graph import FlatGraph, new_operator

_OP = schema.BuiltinOperator


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
        sub = new_operator(graph.opcode(_OP.SUB), op.inputs, [difference],
                           schema.BuiltinOptions.SubOptions, schema.SubOptionsT())
        mul = new_operator(graph.opcode(_OP.MUL), [difference, difference], op.outputs,
                           schema.BuiltinOptions.MulOptions, schema.MulOptionsT())
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
    graph = FlatGraph(content)
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


INT16_SHIFT = 15


def fit_int16_add_sub_scales(content):
    """Raises the output scale of each int16 ADD / SUB to what TF Lite 2.14 can prepare.

    Returns:
        `(bytes, count)`: the model, and how many output scales were raised.
    """
    graph = FlatGraph(content)
    raised = 0
    for op in graph.subgraph.operators:
        if graph.kind(op) not in (_OP.ADD, _OP.SUB):
            continue
        tensors = [graph.subgraph.tensors[int(i)] for i in (*op.inputs, *op.outputs)]
        if any(tensor.type != schema.TensorType.INT16 or tensor.quantization is None
               or tensor.quantization.scale is None for tensor in tensors):
            continue
        *inputs, output = tensors
        bound = 2.0 * max(float(tensor.quantization.scale[0]) for tensor in inputs) / 2 ** INT16_SHIFT
        if float(output.quantization.scale[0]) > bound:
            continue
        scale = np.float32(bound * (1 + 1e-5))
        while float(scale) <= bound:
            scale = np.nextafter(scale, np.float32(np.inf))
        output.quantization.scale = np.array([scale], np.float32)
        raised += 1
    return (graph.serialize() if raised else content), raised
