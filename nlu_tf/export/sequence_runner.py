"""Runs a GLUE (sequence-head) `.tflite` with the LiteRT interpreter as a logits function.

The model takes int32 `input_ids`, `attention_mask` and `token_type_ids` (1, L) and returns
float32 `logits` (1, C). As for the joint model (`nlu_tf.export.tflite_interpreter`),
each example of a padded batch runs on its own at its real length, which is how an app
runs it and how the calibrated modes were calibrated; its `token_type_ids` are the
batch's own, so the second segment of a pair reaches the model as segment 1.
"""


import numpy as np

from nlu_tf.export.metadata import ID_INPUTS, SEQUENCE_OUTPUTS
from nlu_tf.export.tflite_signature import open_signature

LOGITS = SEQUENCE_OUTPUTS[0]


class SequenceTFLiteLogits:
    """A function from a padded numpy batch to the numpy `logits` (B, C) of a `.tflite`.

    Args:
        model_path: the `.tflite` file.
        num_threads: interpreter threads.

    Example:
    >>> logits_fn = SequenceTFLiteLogits("out/convert/tflite_int8/model.tflite")
    >>> logits = logits_fn({"input_ids": ids, "attention_mask": mask, "token_type_ids": types})
    """

    def __init__(self, model_path, num_threads=1):
        self._interpreter, inputs, outputs = open_signature(model_path, num_threads,
                                                            ID_INPUTS + SEQUENCE_OUTPUTS)
        self._inputs = {name: inputs[name]["index"] for name in ID_INPUTS}
        self._output = outputs[LOGITS]["index"]
        self.width = int(outputs[LOGITS]["shape_signature"][-1])
        self.num_threads = int(num_threads)
        self._shape = None

    def run_one(self, inputs):
        """Runs one example: int32 arrays (1, L); returns its logits (1, C)."""
        shape = tuple(inputs["input_ids"].shape)
        if shape != self._shape:  # resized (and reallocated) only when the length changes
            for index in self._inputs.values():
                self._interpreter.resize_tensor_input(index, shape)
            self._interpreter.allocate_tensors()
            self._shape = shape
        for name, index in self._inputs.items():
            self._interpreter.set_tensor(index, np.ascontiguousarray(inputs[name], np.int32))
        self._interpreter.invoke()
        return self._interpreter.get_tensor(self._output)

    def __call__(self, batch):
        mask = np.asarray(batch["attention_mask"])
        logits = np.zeros((mask.shape[0], self.width), np.float32)
        for row in range(mask.shape[0]):
            real = np.flatnonzero(mask[row])
            end = int(real[-1]) + 1 if len(real) else 1
            logits[row] = self.run_one({name: np.asarray(batch[name])[row:row + 1, :end]
                                        for name in ID_INPUTS})[0]
        return logits
