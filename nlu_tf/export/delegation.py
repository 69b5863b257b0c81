"""Where a converted model runs: what XNNPACK takes on a CPU, and what an int8-only
accelerator (an NPU / DSP delegate that runs int8 kernels only) would get.

The XNNPACK part is measured: LiteRT's interpreter applies the XNNPACK delegate by
default, each delegated partition shows up as one DELEGATE node, and the ops it replaced
are those between that node's inputs and outputs. The int8-only part is read from the
ops: such a delegate takes int8 ops only, so every float or int16 op (and whatever sits
between them) stays on the CPU.
"""

import collections

import numpy as np

from nlu_tf.export.modes import MODES

COMPUTE_OPS = ("FULLY_CONNECTED", "BATCH_MATMUL")
_PROBE_LENGTH = 8


def xnnpack_coverage(content, length=_PROBE_LENGTH):
    """Which ops XNNPACK takes, for inputs of shape (1, length).

    Returns:
        A dict: `partitions` (DELEGATE nodes), `delegated_ops` / `total_ops`, and
        `cpu_ops` (op name -> count of the ops left to the builtin kernels).
    """
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=content, num_threads=1)
    for detail in interpreter.get_input_details():
        interpreter.resize_tensor_input(detail["index"], (1, length))
    interpreter.allocate_tensors()
    ops = interpreter._get_ops_details()
    delegates = [op for op in ops if op["op_name"] == "DELEGATE"]
    plain = [op for op in ops if op["op_name"] != "DELEGATE"]
    producer = {int(tensor): op for op in plain for tensor in op["outputs"]}
    covered = set()
    for delegate in delegates:
        boundary = {int(tensor) for tensor in delegate["inputs"]}
        pending = [int(tensor) for tensor in delegate["outputs"]]
        while pending:
            tensor = pending.pop()
            op = producer.get(tensor)
            if tensor in boundary or op is None or op["index"] in covered:
                continue
            covered.add(op["index"])
            pending.extend(int(t) for t in np.asarray(op["inputs"]) if t >= 0)
    left = collections.Counter(op["op_name"] for op in plain if op["index"] not in covered)
    computes = [op for op in plain if op["op_name"] in COMPUTE_OPS]
    return {"partitions": len(delegates), "delegated_ops": len(covered), "total_ops": len(plain),
            "cpu_ops": dict(sorted(left.items())),
            "compute_ops_delegated": sum(op["index"] in covered for op in computes),
            "compute_ops": len(computes)}


def _int8_only_delegate(quantization, report):
    mode = MODES[quantization]
    if mode.post == "int4":
        return ("nothing: int4 weights with float activations (hybrid kernels), which "
                "int8-only delegates do not run; it stays on the CPU")
    if mode.post == "int16x8":
        return ("nothing: int16 activations, which int8-only NPUs / DSPs cannot run; "
                "everything stays on the CPU's builtin kernels")
    if mode.converter in ("float32", "float16"):
        return "nothing: a float model; it runs on the CPU (XNNPACK)"
    if mode.converter == "dynamic":
        return ("nothing: int8 weights with float activations (hybrid kernels), which "
                "int8-only delegates do not run; it stays on the CPU")
    float_ops = ", ".join(f"{name} x{count}" for name, count in report.float_ops.items())
    return (f"the int8 ops it supports; the ops left in float ({float_ops or 'none'}) "
            f"fall back to the CPU, with a QUANTIZE / DEQUANTIZE at every boundary")


def runs_on(quantization, report, coverage):
    """The `runs_on` entry of `model_info.json`.

    `xnnpack_cpu` is True when XNNPACK takes every FULLY_CONNECTED and BATCH_MATMUL (the
    ops that hold the compute), False when it takes none of them, else "partially".

    Args:
        quantization: the mode.
        report: its `OpReport`.
        coverage: its `xnnpack_coverage`.
    """
    taken, total = coverage["compute_ops_delegated"], coverage["compute_ops"]
    xnnpack = True if taken == total else (False if taken == 0 else "partially")
    return {"xnnpack_cpu": xnnpack,
            "xnnpack": {key: coverage[key] for key in
                        ("partitions", "delegated_ops", "total_ops", "compute_ops_delegated",
                         "compute_ops", "cpu_ops")},
            "int8_only_delegate": _int8_only_delegate(quantization, report)}
