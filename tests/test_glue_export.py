"""Export of a GLUE model (#45): a SavedModel with the `logits` signature, a `.tflite` in every
quantization mode whose segment input carries the pair's real segment ids, metadata that
declares the task, and every artefact scored with the task's metrics on the same dev set."""

import io
import json
import os
import zipfile

import numpy as np
import pytest

from nlu_tf.errors import InputError
from tests.glue_files import write_glue_task
from tests.test_glue_serving import glue_model_dir
from tests.test_tflite_metadata import _metadata

PAIRS = [("play the song for me", "add a book to my weather"), ("weather in my", "find me")]


@pytest.fixture(scope="module")
def mrpc_export(tiny_bert_dir, tmp_path_factory):
    """(GLUE root, MRPC model directory, its convert directory in every mode)."""
    from nlu_tf.export.convert import convert_model_dir
    from nlu_tf.export.metadata import QUANTIZATIONS

    root = str(tmp_path_factory.mktemp("glue_export"))
    write_glue_task(root, "mrpc", train=24, dev=12)
    model = glue_model_dir(tiny_bert_dir, os.path.join(root, "model"), "mrpc", seed=3)
    convert = os.path.join(root, "convert")
    convert_model_dir(model, convert, QUANTIZATIONS, root, "", representative_size=16)
    return root, model, convert


def _batch(tokenizer, pairs, zero_segments=False):
    """A padded batch of `pairs`, encoded as training encodes them."""
    from nlu_tf.data.pair_features import PairFeatures, encode_pair

    encoded = [encode_pair(tokenizer, a, b, 32) for a, b in pairs]
    types = [[0] * len(t) if zero_segments else t for _, t, _ in encoded]
    return PairFeatures([ids for ids, _, _ in encoded], types, None).padded()


def test_every_artefact_gives_the_keras_logits_and_the_tasks_metrics(mrpc_export):
    from nlu_tf.export.metadata import QUANTIZATIONS
    from nlu_tf.serving.artefact import load_predictor
    from nlu_tf.serving.glue import evaluate_glue_split

    root, model, convert = mrpc_export
    keras = load_predictor(model, jit_compile=False)
    batch = _batch(keras.tokenizer, PAIRS)
    reference = keras.logits_fn(batch)
    expected = evaluate_glue_split(keras, root, "dev", 5)
    assert set(expected) == {"acc", "f1", "acc_and_f1", "examples"}
    # Close to the Keras logits; the tolerance grows with the mode's rounding.
    tolerance = {"saved_model": 1e-5, "tflite_float32": 1e-4, "tflite_float16": 1e-2}
    for kind in ["saved_model"] + [f"tflite_{mode}" for mode in QUANTIZATIONS]:
        predictor = load_predictor(os.path.join(convert, kind))
        logits = predictor.logits_fn(batch)
        assert logits.shape == reference.shape, kind
        assert np.abs(logits - reference).max() < tolerance.get(kind, 0.1), kind
        metrics = evaluate_glue_split(predictor, root, "dev", 5)
        assert set(metrics) == set(expected) and metrics["examples"] == 12, kind
        if kind in tolerance:
            assert metrics == pytest.approx(expected), kind


def test_the_tflite_segment_input_holds_the_pairs_segment_ids(mrpc_export):
    from nlu_tf.export.sequence_runner import SequenceTFLiteLogits
    from nlu_tf.serving.artefact import load_predictor

    root, model, convert = mrpc_export
    keras = load_predictor(model, jit_compile=False)
    real, zeros = _batch(keras.tokenizer, PAIRS), _batch(keras.tokenizer, PAIRS, True)
    assert real["token_type_ids"].max() == 1
    for mode in ("float32", "int8"):
        tflite = SequenceTFLiteLogits(os.path.join(convert, f"tflite_{mode}", "model.tflite"))
        # The segment ids change the output: the model reads them, not zeros.
        assert np.abs(tflite(real) - tflite(zeros)).max() > 1e-3, mode
    with open(os.path.join(convert, "tflite_int8", "model_info.json")) as f:
        info = json.load(f)
    assert info["calibration"]["segments"] == "the examples' own token_type_ids"
    assert [item["name"] for item in info["inputs"]] == ["input_ids", "attention_mask",
                                                         "token_type_ids"]
    assert [item["name"] for item in info["outputs"]] == ["logits"]


def test_calibration_inputs_keep_both_segments(tiny_bert_dir):
    from nlu_tf.data.pair_features import PairFeatures
    from nlu_tf.export.sequence_tflite import pair_representative_inputs

    features = PairFeatures([[1, 5, 2, 6, 2], [1, 5, 5, 2, 6, 6, 2], [1, 2, 7, 2]],
                            [[0, 0, 0, 1, 1], [0, 0, 0, 0, 1, 1, 1], [0, 0, 1, 1]], None)
    inputs = pair_representative_inputs(features, 10, seed=0)
    assert len(inputs) == 2  # the examples of at least the median length (5)
    for item in inputs:
        assert item["input_ids"].shape == (1, 5) and item["input_ids"][0, -1] == 2
        assert item["attention_mask"].all() and item["token_type_ids"].max() == 1


def test_metadata_and_model_info_declare_the_task(mrpc_export, tiny_bert_dir, tmp_path):
    from nlu_tf.export.convert import convert_model_dir

    root, model, convert = mrpc_export
    folder = os.path.join(convert, "tflite_dynamic")
    with open(os.path.join(folder, "model.tflite"), "rb") as f:
        content = f.read()
    metadata = _metadata(content)
    assert b"nlu_tf GLUE MRPC model (dynamic)" in metadata
    assert b"token_type_ids hold both segments" in metadata
    with zipfile.ZipFile(io.BytesIO(content)) as packed:
        assert sorted(packed.namelist()) == ["label.txt", "vocab.txt"]
        assert packed.read("label.txt") == b"0\n1\n"
    with open(os.path.join(folder, "model_info.json")) as f:
        info = json.load(f)
    assert (info["head"], info["task"], info["labels"], info["is_pair"]) == (
        "sequence", "mrpc", ["0", "1"], True)
    assert info["segments"].startswith("pair: [CLS] text_a [SEP] text_b [SEP]")

    # STS-B: a score in [0, 5], no label file.
    write_glue_task(str(tmp_path), "sts-b", train=4, dev=4)
    stsb = glue_model_dir(tiny_bert_dir, str(tmp_path / "stsb"), "sts-b")
    convert_model_dir(stsb, str(tmp_path / "convert"), ("float32",), saved_model=False)
    stsb_folder = tmp_path / "convert" / "tflite_float32"
    content = (stsb_folder / "model.tflite").read_bytes()
    assert b"a score in [0, 5]" in _metadata(content)
    with zipfile.ZipFile(io.BytesIO(content)) as packed:
        assert packed.namelist() == ["vocab.txt"]
    info = json.loads((stsb_folder / "model_info.json").read_text())
    assert (info["labels"], info["output"]["kind"], info["output"]["range"]) == (
        None, "score", [0.0, 5.0])
    assert not (stsb_folder / "label.txt").exists()


def test_saved_model_has_the_logits_signature(mrpc_export):
    import tensorflow as tf

    root, model, convert = mrpc_export
    loaded = tf.saved_model.load(os.path.join(convert, "saved_model"))
    signature = loaded.signatures["logits"]
    assert sorted(signature.structured_input_signature[1]) == [
        "attention_mask", "input_ids", "token_type_ids"]
    assert list(signature.structured_outputs) == ["logits"]


def test_the_clu_export_is_refused_in_one_line(mrpc_export, tmp_path):
    from nlu_tf.export.convert import convert_model_dir

    root, model, convert = mrpc_export
    with pytest.raises(InputError) as raised:
        convert_model_dir(model, str(tmp_path / "clu"), ("dynamic",), clu=True)
    message = str(raised.value)
    assert "BertCluAnnotator" in message and "GLUE" in message and "\n" not in message
    assert not (tmp_path / "clu").exists()
