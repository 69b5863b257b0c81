"""The files that travel with every exported model, and `model_info.json` that describes it.

An export folder (a SavedModel or a TFLite one) holds, besides the model, `vocab.txt`,
`intent_label.txt`, `slot_label.txt` and `model_info.json`: everything an app or a server
needs to tokenize, and to turn logit indices into labels. This module imports no
TensorFlow.
"""

import dataclasses
import os

from nlu_tf.data.glue.labels import LABEL_FILE, TaskLabels
from nlu_tf.data.glue.tasks import STSB_RANGE, glue_task
from nlu_tf.data.reader import LabelMaps
from nlu_tf.data.tokenizer import CLS, PAD, SEP, UNK, WordPieceTokenizer
from nlu_tf.errors import InputError
from nlu_tf.io_utils import write_json
from nlu_tf.io_utils import read_json_object

MODEL_INFO = "model_info.json"
# Calibrated modes (on unpadded training utterances) need data, and run one utterance per call.
from nlu_tf.export.modes import CALIBRATED_QUANTIZATIONS, QUANTIZATIONS  # noqa: F401
ID_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
LOGITS_OUTPUTS = ("intent_logits", "slot_logits")
LABEL_FILES = ("intent_label.txt", "slot_label.txt")
# A GLUE (sequence-head) export: one output, and `label.txt` (none for STS-B's score).
SEQUENCE_OUTPUTS = ("logits",)
SEQUENCE_LABEL_FILES = (LABEL_FILE,)
TOKENIZATION = ("Split the text on whitespace into words; per word: drop control characters, "
                "and if lower_case: NFD, drop accents (Mn), lower-case; split on punctuation "
                "and around CJK characters; greedy longest-match WordPiece with '##' "
                "continuations, [UNK] for a token that cannot be covered. Input is [CLS] "
                "pieces [SEP]; whole words are dropped from the end to fit max_seq_len.")
PAIR_TOKENIZATION = ("Words and WordPiece pieces as for one utterance (split on whitespace, "
                     "punctuation and CJK; lower_case: NFD, no accents, lower-case). Input is "
                     "[CLS] a [SEP] for one sentence, [CLS] a [SEP] b [SEP] for a pair; too "
                     "long a pair loses its last pieces longest-first (BERT's rule).")
DECODING = ("Intent: argmax of intent_logits. Slots: a word is scored by slot_logits at its "
            "first sub-token (PAD and UNK never chosen); the words of an utterance take the "
            "tag sequence with the largest sum of scores in which no I-x (x with a B-x label) "
            "starts the utterance or follows a tag other than B-x or I-x (Viterbi); a word "
            "without a token is O.")


@dataclasses.dataclass(frozen=True)
class ArtefactInfo:
    """What a predictor needs besides its logits function, read back from an export folder.

    Attributes:
        tokenizer: the `WordPieceTokenizer` of `vocab.txt` and `lower_case`.
        labels: the `LabelMaps` of the label files; a GLUE export's `TaskLabels`.
        max_seq_len: the longest token sequence, specials included.
        name: a short description, e.g. `tflite-int8:out/convert/tflite_int8`.
        info: the whole `model_info.json`.
    """

    tokenizer: WordPieceTokenizer
    labels: LabelMaps
    max_seq_len: int
    name: str
    info: dict


def export_head(info):
    """The head kind an export's `model_info.json` declares ("joint" when it says none: the
    joint exports predate the field)."""
    return info.get("head", "joint")


def logits_outputs(info):
    """The logit outputs of an export, in the order its logits function returns them."""
    return SEQUENCE_OUTPUTS if export_head(info) == "sequence" else LOGITS_OUTPUTS


def write_support_files(bundle, folder):
    """Writes `vocab.txt` and the label files of `bundle` into `folder` (a GLUE model's
    `label.txt`, none for a regression task)."""
    with open(os.path.join(folder, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(bundle.tokenizer.vocab) + "\n")
    if bundle.labels.head == "sequence":
        bundle.labels.write(folder)
        return
    for name, labels in zip(LABEL_FILES, (bundle.labels.intents, bundle.labels.slots)):
        with open(os.path.join(folder, name), "w", encoding="utf-8") as f:
            f.write("\n".join(labels) + "\n")


def base_info(bundle, kind, source):
    """The `model_info.json` fields every export shares (a GLUE model's: `sequence_info`)."""
    tokenizer = bundle.tokenizer
    info = {
        "format": f"nlu_tf.{kind}", "version": 1, "source_model": source,
        "max_seq_len": bundle.max_seq_len, "lower_case": tokenizer.lower_case,
        "vocab_size": tokenizer.vocab_size, "max_chars_per_word": tokenizer.max_chars_per_word,
        "num_parameters": int(bundle.model.count_params()),
        "special_tokens": {token: tokenizer.token_to_id(token) for token in (CLS, SEP, PAD, UNK)},
    }
    if bundle.labels.head == "sequence":
        return {**info, **sequence_info(bundle.labels)}
    return {**info, "num_intents": len(bundle.labels.intents),
            "num_slots": len(bundle.labels.slots), "tokenization": TOKENIZATION,
            "decoding": DECODING}


def sequence_info(labels):
    """The `model_info.json` fields of a GLUE export: the task, its labels (none for STS-B,
    whose output is a score), and what the segment input holds."""
    task = glue_task(labels.task)
    if task.is_pair:
        segments = ("pair: [CLS] text_a [SEP] text_b [SEP]; token_type_ids 0 up to the first "
                    "[SEP], 1 after it")
    else:
        segments = "single sentence: [CLS] text [SEP]; token_type_ids 0 everywhere"
    if task.is_regression:
        low, high = STSB_RANGE
        output = {"kind": "score", "range": [low, high],
                  "meaning": f"logits[0] is the similarity score, trained on gold scores in "
                             f"[{low:g}, {high:g}] (not clipped)"}
    else:
        output = {"kind": "classes", "meaning": "argmax of logits is the index of the label "
                                                "in label.txt; softmax gives probabilities"}
    return {"head": "sequence", "task": task.key, "task_name": task.folder,
            "is_pair": task.is_pair,
            "labels": list(labels.labels) if labels.labels is not None else None,
            "num_labels": labels.num_labels, "segments": segments, "output": output,
            "tokenization": PAIR_TOKENIZATION}


def read_model_info(folder):
    """Returns the parsed `model_info.json` of an export folder."""
    path = os.path.join(folder, MODEL_INFO)
    if not os.path.isfile(path):
        raise InputError(path, "missing (not an nlu_tf export folder)")
    info = read_json_object(path)
    if not str(info.get("format", "")).startswith("nlu_tf."):
        raise InputError(path, "not an nlu_tf model_info.json")
    return info


def record_metrics(folder, metrics):
    """Adds measured metrics to `model_info.json` under `metrics` (merged, key by key).

    Args:
        folder: an export folder (SavedModel or TFLite).
        metrics: a JSON-serializable dict, e.g. `{"test": {"intent_acc": ...}}`.

    Returns:
        The updated model info.
    """
    info = read_model_info(folder)
    info.setdefault("metrics", {}).update(metrics)
    write_json(os.path.join(folder, MODEL_INFO), info)
    return info


def artefact_name(info, folder):
    """A short description of an export, e.g. `tflite-int8:out/convert/tflite_int8`."""
    kind = info["format"].removeprefix("nlu_tf.")
    if info.get("quantization"):
        kind = f"{kind}-{info['quantization']}"
    return f"{kind}:{os.path.normpath(folder)}"


def export_kind(path):
    """"saved_model" or "tflite" for an export folder (or a `.tflite` file), else None."""
    if os.path.isfile(path):
        return "tflite" if path.endswith(".tflite") else None
    if os.path.isfile(os.path.join(path, "saved_model.pb")):
        return "saved_model"
    if os.path.isfile(os.path.join(path, "model.tflite")):
        return "tflite"
    return None


def load_artefact_info(folder):
    """Reads the tokenizer, labels and limits of an export folder into an `ArtefactInfo`."""
    info = read_model_info(folder)
    vocab_path = os.path.join(folder, "vocab.txt")
    if not os.path.isfile(vocab_path):
        raise InputError(vocab_path, "missing (not a complete nlu_tf export folder)")
    with open(vocab_path, encoding="utf-8") as f:
        vocab = [line.rstrip("\n").rstrip("\r") for line in f]
    try:
        tokenizer = WordPieceTokenizer(vocab, lower_case=info["lower_case"],
                                       max_chars_per_word=int(info.get("max_chars_per_word", 100)))
    except ValueError as error:
        raise InputError(vocab_path, str(error)) from None
    labels = (TaskLabels.from_dir(folder, info.get("task")) if export_head(info) == "sequence"
              else LabelMaps.from_dir(folder))
    return ArtefactInfo(tokenizer, labels, int(info["max_seq_len"]),
                        artefact_name(info, folder), info)
