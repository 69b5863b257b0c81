"""The float16 mode's embedding lookups, rewritten so that TF Lite 2.14 runs them right.

The converter stores a float16 model's tables in float16 and dequantizes each with a
DEQUANTIZE op at load; GATHER then reads rows of the float32 copy. TF Lite 2.14 with its
default XNNPACK delegate loses that copy when the interpreter is first allocated at a
resized input shape: every later call after a resize answers NaN (measured with
`tflite-runtime==2.14.0`; newer LiteRT is not affected). So each GATHER of a dequantized
float16 table gathers the table's raw 16-bit patterns instead (as int16), then BITCAST
makes them float16 and DEQUANTIZE float32: the same values, the table still stored once in
float16, nothing dequantized ahead of the call. BITCAST exists since TF Lite 2.13.
"""

import collections

from ai_edge_litert import schema_py_generated as schema

from nlu_tf.export.flatbuffer_graph import OP, FlatGraph, new_operator

_TYPE = schema.TensorType


def gather_float16_bits(content):
    """Rewrites every `GATHER(DEQUANTIZE(float16 table), ids)` of a `.tflite` as above.

    A table whose float32 copy another op reads as well is left as it is.

    Returns:
        `(bytes, count)`: the model and the number of lookups rewritten.
    """
    graph = FlatGraph(content)
    subgraph = graph.subgraph
    uses = collections.Counter(int(i) for op in subgraph.operators for i in op.inputs)
    uses.update(int(i) for i in subgraph.outputs)
    gathers = [op for op in subgraph.operators if graph.kind(op) == OP.GATHER]
    gathered = collections.Counter(int(op.inputs[0]) for op in gathers)
    sources = {int(op.outputs[0]): op for op in subgraph.operators
               if graph.kind(op) == OP.DEQUANTIZE
               and subgraph.tensors[int(op.inputs[0])].type == _TYPE.FLOAT16
               and uses[int(op.outputs[0])] == gathered[int(op.outputs[0])]}
    if not sources:
        return content, 0
    for source in sources.values():
        subgraph.tensors[int(source.inputs[0])].type = _TYPE.INT16
    operators, rewritten = [], 0
    for op in subgraph.operators:
        if any(op is source for source in sources.values()):
            continue
        source = sources.get(int(op.inputs[0])) if graph.kind(op) == OP.GATHER else None
        if source is None:
            operators.append(op)
            continue
        output = int(op.outputs[0])
        like = subgraph.tensors[output]
        bits = graph.new_tensor(like, "/float16_bits", _TYPE.INT16)
        half = graph.new_tensor(like, "/float16", _TYPE.FLOAT16)
        operators += [
            new_operator(op.opcodeIndex, [int(source.inputs[0]), int(op.inputs[1])], [bits],
                         op.builtinOptionsType, op.builtinOptions),
            new_operator(graph.opcode(OP.BITCAST), [bits], [half],
                         schema.BuiltinOptions.BitcastOptions, schema.BitcastOptionsT()),
            new_operator(source.opcodeIndex, [half], [output]),
        ]
        rewritten += 1
    subgraph.operators = operators
    return graph.serialize(), rewritten
