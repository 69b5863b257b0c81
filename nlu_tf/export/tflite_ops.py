"""What a `.tflite` flatbuffer runs: its operators, custom (Flex) ones, and float compute.

Read straight from the flatbuffer with the LiteRT schema, without building an interpreter.
"""

import collections
import dataclasses

from ai_edge_litert import schema_py_generated as schema

_BUILTIN_NAMES = {value: name for name, value in vars(schema.BuiltinOperator).items()
                  if not name.startswith("_")}
_FLOAT_TYPES = (schema.TensorType.FLOAT32, schema.TensorType.FLOAT16)
_CONVERSIONS = ("QUANTIZE", "DEQUANTIZE")


@dataclasses.dataclass(frozen=True)
class OpReport:
    """The operators of a model, counted over all its subgraphs.

    Attributes:
        counts: operator name -> number of uses (custom ops under their custom code, e.g.
            `FlexStridedSlice`).
        custom: sorted names of the custom operators (Flex / TF Select ones included); a
            model for the stock runtime has none.
        float_ops: operator name -> uses whose output is a float tensor, QUANTIZE and
            DEQUANTIZE left out: in a fully quantized model, what still computes in float.
    """

    counts: dict
    custom: tuple
    float_ops: dict

    def to_json(self):
        return {"counts": dict(sorted(self.counts.items())), "custom": list(self.custom),
                "float_ops": dict(sorted(self.float_ops.items()))}


def _op_name(code):
    custom = code.CustomCode()
    if custom is not None:
        return custom.decode("utf-8"), True
    builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
    return _BUILTIN_NAMES.get(builtin, f"BUILTIN_{builtin}"), False


def inspect_ops(model_content):
    """Returns the `OpReport` of a serialized TFLite model (bytes)."""
    model = schema.Model.GetRootAs(bytearray(model_content), 0)
    names = [_op_name(model.OperatorCodes(i)) for i in range(model.OperatorCodesLength())]
    counts, float_ops, custom = collections.Counter(), collections.Counter(), set()
    for s in range(model.SubgraphsLength()):
        subgraph = model.Subgraphs(s)
        for o in range(subgraph.OperatorsLength()):
            operator = subgraph.Operators(o)
            name, is_custom = names[operator.OpcodeIndex()]
            counts[name] += 1
            if is_custom:
                custom.add(name)
            outputs = [operator.Outputs(i) for i in range(operator.OutputsLength())]
            if name not in _CONVERSIONS and any(
                    index >= 0 and subgraph.Tensors(index).Type() in _FLOAT_TYPES
                    for index in outputs):
                float_ops[name] += 1
    return OpReport(dict(counts), tuple(sorted(custom)), dict(float_ops))
