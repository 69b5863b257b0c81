"""The Task Library export: a `.tflite` that Android's `BertCluAnnotator` runs as it is.

`BertCluAnnotator` (tflite-support's Task Library, the `tensorflow-lite-task-text` AAR)
tokenizes the utterance itself, with the BERT tokenizer unit of the model's metadata, and
reads the model's tensors by their metadata names:

- inputs `ids` (int64), `mask` (int32), `segment_ids` (int64), all of the static shape
  (1, max_seq_len): `[CLS] utterance [SEP]`, padded with `[PAD]`, mask 1 on real tokens
  (earlier turns of a conversation would follow with segment id 1: nlu_tf models are
  trained on single utterances, so apps set `max_history_turns` to 0);
- outputs `domain_task/names|scores`, `intent_task/names|scores`, `slot_task/names|scores`:
  string tensors of labels, gathered in the graph, beside float32 scores.

Here the one domain is the dataset's name (score 1); the intent is the argmax with its
softmax probability; the slot names are, per token, the tags of the best BIO-valid tag
sequence over the words (nlu_tf's rule, Viterbi unrolled over the static length, PAD and
UNK never chosen), scored by each chosen tag's softmax probability. The Task Library
chunks those tags into spans at each of its words' first piece; its words are its own
basic tokens: whitespace- and punctuation-separated, lower-cased in ASCII only, without
accent stripping. nlu_tf's words among them are guessed from the ids
(`nlu_tf.export.clu_words`); docs/results.md lists what differs from `nlu-predict`.
"""

import tensorflow as tf

from nlu_tf.data.reader import PAD, UNK
from nlu_tf.export.clu_words import continuation_tags, vocabulary_tables, word_starts
from nlu_tf.export.graph_decoding import best_path_static
from nlu_tf.tag_rules import transition_rules

CLU_INPUTS = ("ids", "mask", "segment_ids")
# Signature keys -> the tensor names the Task Library looks up in the metadata.
CLU_OUTPUTS = {"domain_task_names": "domain_task/names", "domain_task_scores": "domain_task/scores",
               "intent_task_names": "intent_task/names", "intent_task_scores": "intent_task/scores",
               "slot_task_names": "slot_task/names", "slot_task_scores": "slot_task/scores"}


class CluModule(tf.Module):
    """Exports `annotate(ids, mask, segment_ids)` of a joint model for `BertCluAnnotator`.

    Args:
        bundle: a `ModelBundle` (model, tokenizer, labels, max_seq_len).
        domain: the one domain name the model reports (e.g. the dataset's name).
    """

    def __init__(self, bundle, domain, name=None):
        super().__init__(name=name)
        model = bundle.model
        self.model_variables = [variable.value for variable in model.variables]
        self._model = lambda inputs: model(inputs, training=False)
        self._tables = {name: tf.constant(table)
                        for name, table in vocabulary_tables(bundle.tokenizer.vocab).items()}
        slots = list(bundle.labels.slots)
        self._continuation = tf.constant(continuation_tags(slots))
        self._intents = tf.constant(list(bundle.labels.intents))
        self._slots = tf.constant(slots)
        self._blocked = tf.constant([label in (PAD, UNK) for label in slots])
        self._outside = slots.index("O")
        start, allowed = transition_rules(slots)
        del start  # the state before the first word is "O", whose successors are `start`
        self._allowed = allowed
        self._domain = tf.constant([[domain]])
        length = bundle.max_seq_len
        self.annotate = tf.function(self._annotate, input_signature=[
            tf.TensorSpec((1, length), tf.int64, name="ids"),
            tf.TensorSpec((1, length), tf.int32, name="mask"),
            tf.TensorSpec((1, length), tf.int64, name="segment_ids")])

    def _annotate(self, ids, mask, segment_ids):
        input_ids = tf.cast(ids, tf.int32)
        outputs = self._model({"input_ids": input_ids, "attention_mask": mask,
                               "token_type_ids": tf.cast(segment_ids, tf.int32)})
        intent_probs = tf.nn.softmax(outputs["intent_logits"], axis=-1)
        best = tf.argmax(intent_probs, axis=-1, output_type=tf.int32)
        slot_logits = tf.where(self._blocked, float("-inf"), outputs["slot_logits"][0])
        # The Task Library reads a tag at each of its words (`listed`); nlu_tf's words
        # (`real`) take the best BIO-valid sequence, the others continue their word's tag.
        listed = tf.gather(self._tables["first"], input_ids[0]) & (mask[0] > 0)
        real = word_starts(input_ids[0], self._tables) & (mask[0] > 0)
        path = best_path_static(slot_logits, real, self._outside, self._allowed)
        word_tag, filled = tf.constant(self._outside), []
        for tag, starts in zip(tf.unstack(path), tf.unstack(real)):
            word_tag = tf.where(starts, tag, word_tag)
            filled.append(word_tag)
        tags = tf.where(real, path, tf.where(listed, tf.gather(self._continuation,
                                                               tf.stack(filled)), self._outside))
        slot_probs = tf.nn.softmax(outputs["slot_logits"][0], axis=-1)
        chosen = tf.reduce_sum(slot_probs * tf.one_hot(tags, self._slots.shape[0]), axis=-1)
        names = tf.gather(self._slots, tags)
        return {
            "domain_task_names": self._domain,
            "domain_task_scores": tf.ones((1, 1), tf.float32),
            "intent_task_names": tf.gather(self._intents, best)[:, None],
            "intent_task_scores": tf.reduce_max(intent_probs, axis=-1, keepdims=True),
            "slot_task_names": names[None],
            "slot_task_scores": tf.where(listed, chosen, 1.0)[None],
        }


def write_clu_source(bundle, folder, domain):
    """Saves the `annotate` function of `bundle`'s model as a SavedModel at `folder`."""
    module = CluModule(bundle, domain)
    tf.saved_model.save(module, folder, signatures={"serving_default": module.annotate})
    return folder


def clu_metadata(bundle, content, quantization):
    """The TFLite Model Metadata `BertCluAnnotator` needs: tensors named as it looks them
    up, in the subgraph's order, and the BERT tokenizer unit with `vocab.txt`."""
    from nlu_tf import __version__
    from nlu_tf.export.modes import MODES
    from nlu_tf.export.tflite_metadata import (VOCABULARY, ModelInfo, TensorInfo, lines_file,
                                               subgraph_tensor_names)

    inputs, outputs = subgraph_tensor_names(content)
    vocabulary = lines_file("vocab.txt", "WordPiece vocabulary", VOCABULARY,
                            bundle.tokenizer.vocab)
    return ModelInfo(
        name=f"nlu_tf intent and slot model for BertCluAnnotator ({quantization})",
        description=("Joint intent classification and BIO slot filling of one utterance "
                     "(set max_history_turns to 0): the intent as intent_task, mentioned "
                     "slots from slot_task's per-token tags of the best BIO-valid sequence; "
                     f"needs TF Lite {MODES[quantization].min_runtime} or newer."),
        version=f"nlu_tf {__version__}", author="nlu_tf", license="Apache-2.0",
        inputs=tuple(TensorInfo(name, name) for name in inputs),
        outputs=tuple(TensorInfo(CLU_OUTPUTS[name], CLU_OUTPUTS[name]) for name in outputs),
        vocabulary=vocabulary)


def write_clu_folder(bundle, folder, quantization, content, report, source=""):
    """Writes a Task Library export folder atomically: model.tflite (metadata and vocabulary
    packed), the vocabulary and label files, model_info.json. Returns the model info."""
    import os

    from nlu_tf.export.metadata import MODEL_INFO, base_info, write_support_files
    from nlu_tf.export.modes import MODES, runtime_info
    from nlu_tf.export.tflite_metadata import attach_metadata
    from nlu_tf.io_utils import atomic_dir, write_json

    if "" in bundle.tokenizer.vocab:
        raise ValueError("vocab.txt has an empty line: the Task Library skips empty lines, "
                         "so every later id would shift")
    content = attach_metadata(content, clu_metadata(bundle, content, quantization))
    info = base_info(bundle, "tflite_clu", source)
    info.update(quantization=quantization,
                quantization_description=MODES[quantization].description,
                model_file="model.tflite", size_bytes=len(content), ops=report.to_json(),
                inputs=list(CLU_INPUTS), outputs=list(CLU_OUTPUTS.values()),
                task_library={"api": "BertCluAnnotator", "max_history_turns": 0,
                              "intent_threshold": 0.0, "mentioned_slot_threshold": 0.0,
                              "note": "thresholds 0 give nlu-predict's argmax intent and "
                                      "every span; raise them to drop unsure ones"},
                **runtime_info(quantization))
    with atomic_dir(folder, "tflite_clu") as tmp:
        with open(os.path.join(tmp, "model.tflite"), "wb") as f:
            f.write(content)
        write_support_files(bundle, tmp)
        write_json(os.path.join(tmp, MODEL_INFO), info)
    return info
