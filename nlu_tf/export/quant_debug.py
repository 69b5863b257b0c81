"""Per-layer int8 error, and the int8 model with the worst layers kept in float.

`tf.lite.experimental.QuantizationDebugger` converts the model to int8 with a NumericVerify
op after every quantized op: each op runs in int8 and, on the same (dequantized) inputs,
in float, so the difference is the error that op adds, not the error accumulated before
it. `Int8Debugger` runs it on the calibration inputs and reads back one `LayerError` per op.

`int8_mixed` keeps in float the ops `select_denylist` picks by `MIXED_RULE`: error in
units of the op's int8 step (rmse / scale). Rounding alone gives 1 / sqrt(12) = 0.29; an op
far above that loses more than rounding (a range stretched by outliers, or a kernel
that accumulates error), and the default threshold, 0.7, is the one TensorFlow's
quantization-debugger guide uses for its "suspected layers".
"""

import contextlib
import csv
import dataclasses
import io
import math
import warnings

from nlu_tf.export.metadata import ID_INPUTS

DEFAULT_THRESHOLD = 0.7
MIXED_RULE = ("float for every op whose int8 output error, measured by "
              "tf.lite.experimental.QuantizationDebugger on the calibration inputs, has "
              "sqrt(mean_squared_error) / scale > threshold (error in int8 steps; rounding "
              "alone gives 0.29); int8 everywhere else")


@dataclasses.dataclass(frozen=True)
class LayerError:
    """The error one quantized op adds, averaged over the calibration inputs.

    Attributes:
        index: the op's position among the debugged ops (graph order).
        op_name: the TFLite op, e.g. `BATCH_MATMUL`.
        tensor_name: its output tensor (what `denylisted_nodes` takes).
        num_elements: elements of that output.
        mean_error: mean of (int8 dequantized - float).
        max_abs_error: largest absolute difference.
        mean_squared_error: mean squared difference.
        scale: the output's quantization step.
        zero_point: the output's zero point.
    """

    index: int
    op_name: str
    tensor_name: str
    num_elements: float
    mean_error: float
    max_abs_error: float
    mean_squared_error: float
    scale: float
    zero_point: int

    @property
    def rmse_over_scale(self):
        """Root mean squared error in units of the int8 step."""
        return math.sqrt(self.mean_squared_error) / self.scale if self.scale else math.inf


@contextlib.contextmanager
def _quiet():
    with warnings.catch_warnings():
        # The debugger and the calibrator run the deprecated tf.lite.Interpreter.
        warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated")
        yield


class Int8Debugger:
    """`QuantizationDebugger` over a TFLite source SavedModel, calibrated like `int8`.

    Args:
        converter: a `TFLiteConverter` configured for int8 (optimizations and
            representative dataset set).
        representative: the calibration inputs (dicts of int32 (1, L) arrays).

    Example:
    >>> debugger = Int8Debugger(converter, representative)
    >>> errors = debugger.layer_errors()
    >>> content = debugger.quantize(select_denylist(errors))
    """

    def __init__(self, converter, representative):
        import tensorflow as tf

        self._representative = representative
        with _quiet():
            self._debugger = tf.lite.experimental.QuantizationDebugger(
                converter=converter, debug_dataset=self._dataset)
        self._errors = None

    def _dataset(self):
        # The debugger feeds a list in the order of the interpreter's inputs, named
        # `serving_default_<name>:0`.
        details = self._debugger._quant_interpreter.get_input_details()
        names = [detail["name"].removeprefix("serving_default_").split(":")[0]
                 for detail in details]
        if sorted(names) != sorted(ID_INPUTS):
            raise ValueError(f"unexpected model inputs {names}")
        for inputs in self._representative:
            yield [inputs[name] for name in names]

    def layer_errors(self):
        """One `LayerError` per quantized op, in graph order (computed once)."""
        if self._errors is None:
            with _quiet():
                self._debugger.run()
            dump = io.StringIO()
            self._debugger.layer_statistics_dump(dump)
            dump.seek(0)
            self._errors = [
                LayerError(index, row["op_name"], row["tensor_name"],
                           float(row["num_elements"]), float(row["mean_error"]),
                           float(row["max_abs_error"]), float(row["mean_squared_error"]),
                           float(row["scale"]), int(row["zero_point"]))
                for index, row in enumerate(csv.DictReader(dump))]
        return self._errors

    def quantize(self, denylisted_nodes=()):
        """The int8 model (bytes) with the ops writing `denylisted_nodes` kept in float."""
        import tensorflow as tf

        with _quiet():
            self._debugger.options = tf.lite.experimental.QuantizationDebugOptions(
                denylisted_nodes=list(denylisted_nodes))
            return self._debugger.get_nondebug_quantized_model()


def select_denylist(errors, threshold=DEFAULT_THRESHOLD):
    """The output tensor names of the ops `MIXED_RULE` keeps in float, in graph order."""
    if not threshold > 0:
        raise ValueError(f"threshold must be positive, got {threshold}")
    return tuple(error.tensor_name for error in errors if error.rmse_over_scale > threshold)
