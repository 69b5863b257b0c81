"""Decoding inside every plain `.tflite`: the intent index and each word's tag index.

Besides `intent_logits` and `slot_logits`, a converted model outputs what
`nlu_tf.decoding.decode` makes of them, so an app maps indices to labels and does nothing
else:

    intent_id    int32 (1,): argmax of intent_logits (ties: the lower index)
    intent_prob  float32 (1,): its softmax probability
    slot_ids     int32 (1, L): at the first sub-token of each word, the word's tag in the
                 best tag sequence that keeps the BIO rule (`nlu_tf.tag_rules`, PAD and UNK
                 never chosen); -1 at every other position

for which it takes a fourth input, `word_starts` int32 (1, L): 1 at the first sub-token of
each whitespace word, 0 elsewhere (the ids cannot tell: "top-rated" is one word of three
pieces). The decoding is its own float32 graph (`DecodingModule`, converted once per model),
spliced after the logits of every mode's converted graph (`attach_decoding`): so the
quantizers and calibrators of the modes never see it, and it stays float32 in an int8
model. It is unrolled over `max_seq_len` positions (no control flow: TF Lite's WHILE costs
more per step than a step's dozen small ops), so a longer input is refused at run time.
Every operator is at a version TF Lite 2.14 runs (checked by `make client-test`).
"""

import os
import tempfile

import numpy as np
import tensorflow as tf

from nlu_tf.data.reader import PAD, UNK
from nlu_tf.export.flatbuffer_graph import FlatGraph, builtin_code
from nlu_tf.export.graph_decoding import best_path_static
from nlu_tf.export.metadata import LOGITS_OUTPUTS
from nlu_tf.tag_rules import transition_rules

WORD_STARTS = "word_starts"
DECODING_OUTPUTS = ("intent_id", "intent_prob", "slot_ids")
NOT_A_WORD = -1
_PREFIX = "decoding/"


class DecodingModule(tf.Module):
    """`decode(intent_logits, slot_logits, word_starts)` of a label set, as above.

    Args:
        labels: the model's `LabelMaps` (an "O" tag among the slots).
        max_seq_len: the longest input the decoding unrolls over.
    """

    def __init__(self, labels, max_seq_len, name=None):
        super().__init__(name=name)
        slots = list(labels.slots)
        if "O" not in slots:
            raise ValueError("the slot labels lack an 'O' tag")
        self._outside = slots.index("O")
        self._blocked = tf.constant([label in (PAD, UNK) for label in slots])
        self._allowed = transition_rules(slots)[1]
        self._length = int(max_seq_len)
        self.decode = tf.function(self._decode, input_signature=[
            tf.TensorSpec((1, len(labels.intents)), tf.float32, name="intent_logits"),
            tf.TensorSpec((1, None, len(slots)), tf.float32, name="slot_logits"),
            tf.TensorSpec((1, None), tf.int32, name=WORD_STARTS)])

    def _decode(self, intent_logits, slot_logits, word_starts):
        probs = tf.nn.softmax(intent_logits, axis=-1)
        length = tf.shape(slot_logits)[1]
        real = word_starts[0] > 0
        scores = tf.where(self._blocked, float("-inf"), slot_logits[0])
        # Padded to max_seq_len by a concatenation and a constant slice (PAD of this shape
        # needs an operator version TF Lite 2.14 lacks); past max_seq_len the path is shorter
        # than the input and the last SELECT refuses the call.
        tags = slot_logits.shape[-1]
        scores = tf.concat([scores, tf.zeros((self._length, tags))], axis=0)[:self._length]
        words = tf.concat([word_starts[0], tf.zeros((self._length,), tf.int32)],
                          axis=0)[:self._length] > 0
        path = best_path_static(tf.reshape(scores, (self._length, tags)),
                                tf.reshape(words, (self._length,)), self._outside, self._allowed)
        return {
            "intent_id": tf.argmax(intent_logits, axis=-1, output_type=tf.int32),
            "intent_prob": tf.reduce_max(probs, axis=-1),
            "slot_ids": tf.where(real, path[:length], NOT_A_WORD)[None],
        }


def decoding_tflite(labels, max_seq_len):
    """The float32 `.tflite` of `DecodingModule(labels, max_seq_len)`."""
    module = DecodingModule(labels, max_seq_len)
    with tempfile.TemporaryDirectory(prefix="nlu_tf_decoding_") as tmp:
        folder = os.path.join(tmp, "saved_model")
        tf.saved_model.save(module, folder, signatures={"serving_default": module.decode})
        converter = tf.lite.TFLiteConverter.from_saved_model(folder)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        return converter.convert()


def _signature_tensors(signature):
    return tuple({item.name.decode("utf-8"): int(item.tensorIndex) for item in items}
                 for items in (signature.inputs, signature.outputs))


def attach_decoding(content, decoding):
    """Splices the decoding graph `decoding` after the logits of the model `content`.

    The decoding's `intent_logits` / `slot_logits` inputs become the model's outputs of
    those names; its `word_starts` input and its outputs join the model's signature.

    Args:
        content: a converted model's `.tflite` bytes (one subgraph, one signature).
        decoding: `decoding_tflite` bytes for the same labels.

    Returns:
        The model's `.tflite` bytes with the decoding outputs.
    """
    from ai_edge_litert import schema_py_generated as schema

    model, extra = FlatGraph(content), FlatGraph(decoding)
    if len(extra.model.subgraphs) != 1 or len(model.model.subgraphs) != 1:
        raise ValueError("attach_decoding expects single-subgraph models")
    signature = model.model.signatureDefs[0]
    model_inputs, model_outputs = _signature_tensors(signature)
    extra_inputs, extra_outputs = _signature_tensors(extra.model.signatureDefs[0])
    if WORD_STARTS in model_inputs:
        raise ValueError("the model already has its decoding outputs")
    buffers = {0: 0}
    tensors = {extra_inputs[name]: model_outputs[name] for name in LOGITS_OUTPUTS}
    for index, tensor in enumerate(extra.subgraph.tensors):
        if index in tensors:
            continue
        if tensor.buffer not in buffers:
            model.model.buffers.append(extra.model.buffers[tensor.buffer])
            buffers[tensor.buffer] = len(model.model.buffers) - 1
        tensor.buffer = buffers[tensor.buffer]
        tensor.name = _PREFIX.encode() + tensor.name
        model.subgraph.tensors.append(tensor)
        tensors[index] = len(model.subgraph.tensors) - 1
    for op in extra.subgraph.operators:
        code = extra.model.operatorCodes[op.opcodeIndex]
        op.opcodeIndex = model.opcode(builtin_code(code), code.version)
        existing = model.model.operatorCodes[op.opcodeIndex]
        existing.version = max(existing.version, code.version)
        op.inputs = [tensors[int(i)] if i >= 0 else int(i) for i in op.inputs]
        op.outputs = [tensors[int(i)] for i in op.outputs]
        if op.intermediates is not None:
            op.intermediates = [tensors[int(i)] for i in op.intermediates]
        model.subgraph.operators.append(op)
    new_input = tensors[extra_inputs[WORD_STARTS]]
    model.subgraph.inputs = [int(i) for i in model.subgraph.inputs] + [new_input]
    model.subgraph.outputs = [int(i) for i in model.subgraph.outputs] + [
        tensors[extra_outputs[name]] for name in DECODING_OUTPUTS]
    signature.inputs.append(_tensor_map(schema, WORD_STARTS, new_input))
    signature.outputs.extend(_tensor_map(schema, name, tensors[extra_outputs[name]])
                             for name in DECODING_OUTPUTS)
    return model.serialize()


def _tensor_map(schema, name, index):
    item = schema.TensorMapT()
    item.name, item.tensorIndex = name.encode("utf-8"), int(index)
    return item


def word_start_flags(word_starts, length):
    """The `word_starts` input of one utterance: 1 where `word_starts` (per position the
    word index or -1, as the tokenizer gives them) holds a word, 0 elsewhere, (1, length)."""
    flags = np.zeros((1, length), np.int32)
    starts = np.asarray(word_starts)[:length]
    flags[0, :len(starts)] = starts >= 0
    return flags
