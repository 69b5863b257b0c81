"""The TFLite Model Metadata of a joint intent and slot model's `.tflite`: what each input
and output tensor holds, in words an app developer reads in Android Studio, and the
vocabulary and label files packed with it (written by `nlu_tf.export.tflite_metadata`).
The parts every nlu_tf `.tflite` shares (author, licence, the packed vocabulary, how to
tokenize and which runtime it needs) are also read by the GLUE export.
"""

from nlu_tf.export.decoding_outputs import WORD_STARTS
from nlu_tf.export.modes import MODES

METADATA_AUTHOR = "nlu_tf"
METADATA_LICENSE = "Apache-2.0"
_TENSOR_TEXT = {
    "input_ids": "WordPiece ids of one utterance, [CLS] ... [SEP], int32 (1, L), L <= max_seq_len",
    "attention_mask": "1 for every token (one unpadded utterance), int32 (1, L)",
    "token_type_ids": "0 for every token (one segment), int32 (1, L)",
    "intent_logits": "intent scores (1, I); argmax is the intent, softmax its probability",
    "slot_logits": "BIO tag scores per token (1, L, S); a word is read at its first sub-token, "
                   "the words take the best tag sequence that keeps the BIO rule",
    WORD_STARTS: "1 at the first sub-token of each whitespace word, 0 elsewhere, int32 (1, L)",
    "intent_id": "the intent's index in intent_label.txt (argmax of intent_logits), int32 (1,)",
    "intent_prob": "the intent's softmax probability, float32 (1,)",
    "slot_ids": "at the first sub-token of each word, the word's index in slot_label.txt in "
                "the best tag sequence that keeps the BIO rule; -1 elsewhere, int32 (1, L)",
}


def vocabulary_file(bundle):
    """The packed `vocab.txt` of `bundle`'s tokenizer, as the metadata's vocabulary file."""
    from nlu_tf.export.tflite_metadata import VOCABULARY, lines_file

    return lines_file("vocab.txt", f"WordPiece vocabulary; lower-case: "
                      f"{bundle.tokenizer.lower_case}", VOCABULARY, bundle.tokenizer.vocab)


def usage_text(bundle, quantization):
    """The end of every description: the mode, how to tokenize, the runtime it needs."""
    mode = MODES[quantization]
    return (f"{mode.description}. Tokenize with the packed vocab.txt (lower-case: "
            f"{bundle.tokenizer.lower_case}, max_seq_len {bundle.max_seq_len}); "
            f"needs TF Lite {mode.min_runtime} or newer.")


def model_metadata(bundle, content, quantization, author=METADATA_AUTHOR,
                   license_=METADATA_LICENSE):
    """The TFLite Model Metadata of a joint model's `.tflite` (`tflite_metadata.ModelInfo`)."""
    from nlu_tf import __version__
    from nlu_tf.export.tflite_metadata import (TENSOR_AXIS_LABELS, TENSOR_VALUE_LABELS,
                                               ModelInfo, TensorInfo, lines_file,
                                               subgraph_tensor_names)

    intents, slots = bundle.labels.intents, bundle.labels.slots
    labels = {"intent_logits": lines_file("intent_label.txt", "intent labels, one per logit "
                                          "index", TENSOR_AXIS_LABELS, intents),
              "slot_logits": lines_file("slot_label.txt", "BIO slot tags, one per logit index",
                                        TENSOR_AXIS_LABELS, slots),
              "intent_id": lines_file("intent_label.txt", "intent labels, one per index",
                                      TENSOR_VALUE_LABELS, intents),
              "slot_ids": lines_file("slot_label.txt", "BIO slot tags, one per index",
                                     TENSOR_VALUE_LABELS, slots)}
    inputs, outputs = subgraph_tensor_names(content)
    return ModelInfo(
        name=f"nlu_tf joint intent and slot model ({quantization})",
        description=("Intent classification and BIO slot filling of one utterance. "
                     + usage_text(bundle, quantization)),
        version=f"nlu_tf {__version__}", author=author, license=license_,
        inputs=tuple(TensorInfo(name, _TENSOR_TEXT.get(name, name)) for name in inputs),
        outputs=tuple(TensorInfo(name, _TENSOR_TEXT.get(name, name), labels.get(name))
                      for name in outputs),
        vocabulary=vocabulary_file(bundle))
