"""The Task Library (BertCluAnnotator) export: the tensors it looks up, and in-graph
decoding equal to nlu_tf's over the Task Library's words. `make client-test` runs the file
with BertCluAnnotator itself (tflite-support 0.4.4)."""

import json
import os

import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter

from nlu_tf.data.reader import LabelMaps
from nlu_tf.decoding import decode
from nlu_tf.errors import InputError
from nlu_tf.export.convert import clu_folder, convert_model_dir
from nlu_tf.model_io.model_dir import load_model_dir


@pytest.fixture(scope="module")
def clu_dir(export_model_dir, tmp_path_factory):
    path = str(tmp_path_factory.mktemp("clu"))
    convert_model_dir(export_model_dir, path, ("float32",), saved_model=False, clu=True,
                      clu_domain="snips")
    return os.path.join(path, clu_folder("float32"))


def _run(folder, ids, length):
    interpreter = Interpreter(model_path=os.path.join(folder, "model.tflite"))
    runner = interpreter.get_signature_runner()
    padded = np.zeros((1, length), np.int64)
    padded[0, :len(ids)] = ids
    mask = (np.arange(length) < len(ids)).astype(np.int32)[None]
    return runner(ids=padded, mask=mask, segment_ids=np.zeros_like(padded))


def test_inputs_and_outputs_are_those_the_task_library_reads(clu_dir):
    with open(os.path.join(clu_dir, "model_info.json"), encoding="utf-8") as f:
        info = json.load(f)
    assert info["inputs"] == ["ids", "mask", "segment_ids"] and info["min_runtime"] == "2.14.0"
    runner = Interpreter(model_path=os.path.join(clu_dir, "model.tflite")).get_signature_runner()
    inputs = runner.get_input_details()
    assert {name: (d["dtype"].__name__, list(d["shape"])) for name, d in inputs.items()} == {
        "ids": ("int64", [1, info["max_seq_len"]]), "mask": ("int32", [1, info["max_seq_len"]]),
        "segment_ids": ("int64", [1, info["max_seq_len"]])}
    assert set(runner.get_output_details()) == {
        "domain_task_names", "domain_task_scores", "intent_task_names", "intent_task_scores",
        "slot_task_names", "slot_task_scores"}


def _continued(tag, labels):
    inside = "I-" + tag[2:]
    return inside if tag[:2] in ("B-", "I-") and inside in labels.slots else "O"


def _expected_names(bundle, labels, words):
    """nlu_tf's decoding of `words`, as the Task Library should read it per token: the
    word's tag at its first piece, its continuation at the first piece of each later
    punctuation-separated part of the word."""
    from nlu_tf.data.tokenizer import CONTINUATION

    encoding = bundle.tokenizer.encode_words(words, bundle.max_seq_len)
    ids = np.array([encoding.input_ids], np.int32)
    logits = bundle.model({"input_ids": ids, "attention_mask": np.ones_like(ids),
                           "token_type_ids": np.zeros_like(ids)}, training=False)
    expected = decode(logits["intent_logits"].numpy(), logits["slot_logits"].numpy(),
                      [encoding.word_starts], np.array([encoding.num_words]), labels)[0]
    names, word = {}, None
    for position, (piece_id, start) in enumerate(zip(encoding.input_ids, encoding.word_starts)):
        piece = bundle.tokenizer.id_to_token(piece_id)
        if start >= 0:
            word = start
            names[position] = expected.tags[word]
        elif word is not None and not piece.startswith(CONTINUATION) and position < len(
                encoding.input_ids) - 1:
            names[position] = _continued(expected.tags[word], labels)
    return encoding, expected, names


PUNCTUATED = [["play", "top-rated", "songs", "by", "tim's", "band"],
              ["book", "a", "table", "at", "06:42", "for", "two"],
              ["rate", "halo:", "ghosts", "of", "onyx", "five", "stars"],
              ["is", "rock/pop", "open", "at", "st.", "louis"]]


def test_in_graph_decoding_equals_nlu_tf_over_its_words(clu_dir, export_model_dir,
                                                       tiny_data_dir):
    bundle = load_model_dir(export_model_dir)
    labels = LabelMaps.from_dir(clu_dir)
    from nlu_tf.data.reader import read_split

    utterances = [e.words for e in read_split(tiny_data_dir, "test")[:12]] + PUNCTUATED
    checked = 0
    for words in utterances:
        encoding, expected, names = _expected_names(bundle, labels, words)
        out = _run(clu_dir, encoding.input_ids, bundle.max_seq_len)
        assert out["intent_task_names"][0, 0].decode() == expected.intent
        assert out["domain_task_names"][0, 0].decode() == "snips"
        got = [name.decode() for name in out["slot_task_names"][0]]
        assert {position: got[position] for position in names} == names, words
        assert np.isclose(out["intent_task_scores"][0, 0], expected.intent_prob, atol=1e-5)
        checked += 1
    assert checked == len(utterances)


def test_clu_needs_a_float32_or_dynamic_mode(export_model_dir, tmp_path):
    with pytest.raises(InputError, match="Task Library export needs one of"):
        convert_model_dir(export_model_dir, str(tmp_path / "c"), ("float16",), clu=True)
    assert not (tmp_path / "c").exists()
