"""Runs an exported `.tflite` with the LiteRT interpreter as a logits function.

Every utterance is fed on its own at its real length (the inputs resized per query, as an
app does): the model has batch 1, and an int8 model is calibrated without padding. The
logits of padding positions are returned as zeros.
"""

import os

import numpy as np
from ai_edge_litert.interpreter import Interpreter

from nlu_tf.errors import InputError
from nlu_tf.export.metadata import ID_INPUTS, LOGITS_OUTPUTS, load_artefact_info


class TFLiteLogits:
    """A logits function (see `nlu_tf.inference`) over a `.tflite` model.

    Args:
        model_path: the `.tflite` file.
        num_threads: interpreter threads.

    Example:
    >>> logits_fn = TFLiteLogits("out/convert/tflite_int8/model.tflite", num_threads=1)
    >>> intent_logits, slot_logits = logits_fn(batch)
    """

    def __init__(self, model_path, num_threads=1):
        if not os.path.isfile(model_path):
            raise InputError(model_path, "TFLite model not found")
        try:
            self._interpreter = Interpreter(model_path=model_path, num_threads=int(num_threads))
            signature = self._interpreter.get_signature_runner()
        except ValueError as error:
            raise InputError(model_path, f"cannot load the TFLite model ({error})") from None
        inputs, outputs = signature.get_input_details(), signature.get_output_details()
        missing = [name for name in ID_INPUTS + LOGITS_OUTPUTS if name not in {**inputs, **outputs}]
        if missing:
            raise InputError(model_path, f"the model's signature lacks {', '.join(missing)}")
        self._inputs = {name: inputs[name]["index"] for name in ID_INPUTS}
        self._outputs = {name: outputs[name]["index"] for name in LOGITS_OUTPUTS}
        self._widths = [int(outputs[name]["shape_signature"][-1]) for name in LOGITS_OUTPUTS]
        self._shape = None

    def run_one(self, inputs):
        """Runs one utterance: int32 arrays (1, L); returns `(intent (1, I), slots (1, L, S))`."""
        shape = inputs["input_ids"].shape
        if shape != self._shape:
            for index in self._inputs.values():
                self._interpreter.resize_tensor_input(index, shape)
            self._interpreter.allocate_tensors()
            self._shape = shape
        for name, index in self._inputs.items():
            self._interpreter.set_tensor(index, np.ascontiguousarray(inputs[name], np.int32))
        self._interpreter.invoke()
        return tuple(self._interpreter.get_tensor(self._outputs[name]) for name in LOGITS_OUTPUTS)

    def __call__(self, batch):
        mask = np.asarray(batch["attention_mask"])
        batch_size, length = mask.shape
        intents = np.zeros((batch_size, self._widths[0]), np.float32)
        slots = np.zeros((batch_size, length, self._widths[1]), np.float32)
        for row in range(batch_size):
            real = np.flatnonzero(mask[row])
            end = int(real[-1]) + 1 if len(real) else 1
            intent, slot = self.run_one({name: np.asarray(batch[name])[row:row + 1, :end]
                                         for name in ID_INPUTS})
            intents[row] = intent[0]
            slots[row, :end] = slot[0]
        return intents, slots


def tflite_runner(path, num_threads=1):
    """Returns `(logits_fn, ArtefactInfo)` for a TFLite export folder (or its model.tflite)."""
    folder = (os.path.dirname(path) or ".") if path.endswith(".tflite") else path
    info = load_artefact_info(folder)
    return TFLiteLogits(os.path.join(folder, info.info.get("model_file", "model.tflite")),
                        num_threads), info
