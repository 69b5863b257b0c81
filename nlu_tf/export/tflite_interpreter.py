"""Runs an exported `.tflite` with the LiteRT interpreter as a logits function.

`tools/convert.py` writes models of a fixed batch of 1 (see `nlu_tf.export.tflite`): every
utterance runs on its own at its real length, as an app runs it; the logits of a batch's
padding positions are returned as zeros. A model with a dynamic batch (converted by other
means) runs a whole padded batch per call, except the calibrated modes (int8, int8_mixed,
int16x8): they are calibrated without padding, and padded positions would fall outside the
calibrated range of the attention scores.

A model with the decoding outputs (`nlu_tf.export.decoding_outputs`) is fed its
`word_starts` from the batch, and each utterance's `intent_id` / `slot_ids` are checked
against `nlu_tf.decoding`'s own decoding of the logits the same call returned: the
counts are in `TFLiteLogits.decoding_check`.
"""

import os

import numpy as np

from nlu_tf.errors import InputError
from nlu_tf.export.decoding_outputs import DECODING_OUTPUTS, WORD_STARTS
from nlu_tf.tag_rules import best_tags
from nlu_tf.export.metadata import (CALIBRATED_QUANTIZATIONS, ID_INPUTS, LOGITS_OUTPUTS,
                                    export_head, load_artefact_info)
from nlu_tf.export.tflite_signature import open_signature

UNPADDED_QUANTIZATIONS = CALIBRATED_QUANTIZATIONS


class TFLiteLogits:
    """A logits function (see `nlu_tf.decoding`) over a `.tflite` model.

    Args:
        model_path: the `.tflite` file.
        num_threads: interpreter threads.
        batched: run a padded batch in one call (True) or one unpadded utterance at a time
            (False); None: batched when the model's batch dimension is dynamic.
        labels: the model's `LabelMaps`: with them the decoding outputs of a model that has
            them are checked against `nlu_tf.decoding` (None: not checked).

    Example:
    >>> logits_fn = TFLiteLogits("out/convert/tflite_float32/model.tflite", num_threads=1)
    >>> intent_logits, slot_logits = logits_fn(batch)
    >>> intent, slots = logits_fn.run({"input_ids": ids, "attention_mask": ..., ...})
    """

    def __init__(self, model_path, num_threads=1, batched=None, labels=None):
        self._interpreter, inputs, outputs = open_signature(model_path, num_threads,
                                                            ID_INPUTS + LOGITS_OUTPUTS)
        self._inputs = {name: inputs[name]["index"] for name in ID_INPUTS}
        self._outputs = {name: outputs[name]["index"] for name in LOGITS_OUTPUTS}
        self._widths = [int(outputs[name]["shape_signature"][-1]) for name in LOGITS_OUTPUTS]
        self.takes_word_starts = WORD_STARTS in inputs
        if self.takes_word_starts:
            self._inputs[WORD_STARTS] = inputs[WORD_STARTS]["index"]
            self._decoded = {name: outputs[name]["index"] for name in DECODING_OUTPUTS}
        self._labels = labels
        self.decoding_check = {"utterances": 0, "disagree": 0, "first_disagreement": None}
        self.decoded = None
        self.dynamic_batch = int(inputs["input_ids"]["shape_signature"][0]) == -1
        self.num_threads = int(num_threads)
        self.batched = self.dynamic_batch if batched is None else bool(batched)
        if self.batched and not self.dynamic_batch:
            raise InputError(model_path, "the model has a fixed batch of 1; it cannot run "
                                         "padded batches")
        self._shape = None

    def run(self, inputs):
        """Runs int32 (B, L) inputs as they are; returns `(intent (B, I), slots (B, L, S))`.

        The inputs are resized (and the tensors reallocated) only when the shape changes.
        A model with the decoding outputs takes `word_starts` (1 at each word's first
        sub-token; absent: zeros, no words decoded) and leaves its outputs in `decoded`.
        """
        shape = tuple(inputs["input_ids"].shape)
        if self.takes_word_starts and WORD_STARTS not in inputs:
            inputs = dict(inputs, **{WORD_STARTS: np.zeros(shape, np.int32)})
        if shape != self._shape:
            for index in self._inputs.values():
                self._interpreter.resize_tensor_input(index, shape)
            self._interpreter.allocate_tensors()
            self._shape = shape
        for name, index in self._inputs.items():
            self._interpreter.set_tensor(index, np.ascontiguousarray(inputs[name], np.int32))
        self._interpreter.invoke()
        if self.takes_word_starts:
            self.decoded = {name: self._interpreter.get_tensor(index)
                            for name, index in self._decoded.items()}
        return tuple(self._interpreter.get_tensor(self._outputs[name]) for name in LOGITS_OUTPUTS)

    def run_one(self, inputs):
        """Runs one utterance: int32 arrays (1, L); returns `(intent (1, I), slots (1, L, S))`."""
        return self.run(inputs)

    def __call__(self, batch):
        """Logits of a padded batch. For a model with the decoding outputs, `batch` may
        carry `word_starts` as `nlu_tf.decoding.predict` gives them (the word index or -1):
        then each utterance's decoding outputs are checked (`decoding_check`)."""
        if self.batched:
            if self.takes_word_starts:
                raise ValueError("a model that decodes in its graph runs one utterance a call")
            return self.run(batch)
        mask = np.asarray(batch["attention_mask"])
        batch_size, length = mask.shape
        intents = np.zeros((batch_size, self._widths[0]), np.float32)
        slots = np.zeros((batch_size, length, self._widths[1]), np.float32)
        for row in range(batch_size):
            real = np.flatnonzero(mask[row])
            end = int(real[-1]) + 1 if len(real) else 1
            inputs = {name: np.asarray(batch[name])[row:row + 1, :end] for name in ID_INPUTS}
            checked = self.takes_word_starts and WORD_STARTS in batch
            if checked:
                inputs[WORD_STARTS] = (np.asarray(batch[WORD_STARTS])[row:row + 1, :end]
                                       >= 0).astype(np.int32)
            intent, slot = self.run(inputs)
            intents[row] = intent[0]
            slots[row, :end] = slot[0]
            if checked and self._labels is not None:
                self._check(intent[0], slot[0], inputs[WORD_STARTS][0])
        return intents, slots

    def _check(self, intent_logits, slot_logits, word_starts):
        """Counts an utterance whose graph decoding differs from `nlu_tf.decoding`'s."""
        positions = np.flatnonzero(word_starts)
        intent, tags = best_tags(intent_logits, slot_logits[positions], self._labels.slots)
        graph = (int(self.decoded["intent_id"][0]),
                 [int(t) for t in self.decoded["slot_ids"][0][positions]])
        check = self.decoding_check
        check["utterances"] += 1
        if graph != (intent, tags):
            check["disagree"] += 1
            if check["first_disagreement"] is None:
                check["first_disagreement"] = {"graph": graph, "python": (intent, tags)}


def open_tflite(path, num_threads=1, batched=None):
    """Returns `(logits_fn, ArtefactInfo)` for a TFLite export folder (or its model.tflite);
    a GLUE export's logits function is a `SequenceTFLiteLogits`.

    Args:
        path: the export folder, or the `model.tflite` inside it.
        num_threads: interpreter threads.
        batched: see `TFLiteLogits`; None: padded batches for a float model with a dynamic
            batch, one unpadded utterance at a time for the calibrated modes (see the
            module docstring).
    """
    folder = (os.path.dirname(path) or ".") if path.endswith(".tflite") else path
    info = load_artefact_info(folder)
    model_path = os.path.join(folder, info.info.get("model_file", "model.tflite"))
    if export_head(info.info) == "sequence":
        from nlu_tf.export.sequence_runner import SequenceTFLiteLogits

        return SequenceTFLiteLogits(model_path, num_threads), info
    if batched is None and info.info.get("quantization") in UNPADDED_QUANTIZATIONS:
        batched = False
    return TFLiteLogits(model_path, num_threads, batched, info.labels), info
