"""Narrower feed-forward layers: the neurons kept, the same logits as the full model with
the dropped neurons silenced, a model directory that saves, loads and converts, and stage
2.1 narrowing its new student."""

import os

import numpy as np
import pytest

from nlu_tf.data.dataset import pad_batch
from nlu_tf.data.features import encode_examples
from nlu_tf.data.reader import read_split
from nlu_tf.decoding import keras_logits_fn
from nlu_tf.surgery.ffn_prune import kept_neurons, narrow_feed_forward, neuron_scores
from nlu_tf.model_io.model_dir import load_model_dir, save_model_dir

WIDTH = 24


def test_scores_and_the_neurons_kept():
    inner = np.zeros((3, 5))
    outer = np.zeros((5, 2))
    inner[:, 1], outer[1] = 2.0, 1.0   # a big input and a big output: kept
    inner[:, 3], outer[3] = 9.0, 0.0   # a big input, no output: dropped
    inner[:, 4], outer[4] = 1.0, 1.0
    inner[:, 0], outer[0] = 1.0, 1.0   # ties with 4: the lower index wins
    scores = neuron_scores(inner, outer)
    np.testing.assert_allclose(scores, [np.sqrt(3) * np.sqrt(2), 2 * np.sqrt(3) * np.sqrt(2),
                                        0, 0, np.sqrt(3) * np.sqrt(2)])
    assert kept_neurons(scores, 2).tolist() == [0, 1]
    assert kept_neurons(scores, 3).tolist() == [0, 1, 4]


def _batch(bundle, data_dir):
    examples = read_split(data_dir, "test")
    features = encode_examples(examples, bundle.tokenizer, bundle.labels, 32)
    return pad_batch(features, np.arange(len(features)), 8, int(features.lengths.max()))[0]


def test_the_narrow_model_is_the_full_one_with_the_dropped_neurons_silenced(
        export_model_dir, tiny_data_dir, tmp_path):
    full = load_model_dir(export_model_dir)
    narrow_dir = save_model_dir(narrow_feed_forward(full, WIDTH), str(tmp_path / "narrow"))
    narrow = load_model_dir(narrow_dir)
    assert narrow.model.encoder.intermediate_size == WIDTH
    assert full.model.encoder.intermediate_size > WIDTH
    for layer in full.model.encoder.transformer_layers:
        inner, outer = layer.intermediate, layer.output_dense
        kept = kept_neurons(neuron_scores(inner.kernel.numpy(), outer.kernel.numpy()), WIDTH)
        assert len(kept) == WIDTH
        silenced = np.zeros_like(outer.kernel.numpy())
        silenced[kept] = outer.kernel.numpy()[kept]
        outer.kernel.assign(silenced)
    batch = _batch(full, tiny_data_dir)
    real = batch["attention_mask"] == 1
    want = keras_logits_fn(full.model, jit_compile=False)(batch)
    got = keras_logits_fn(narrow.model, jit_compile=False)(batch)
    np.testing.assert_allclose(got[0], want[0], atol=1e-5, rtol=0)
    np.testing.assert_allclose(got[1][real], want[1][real], atol=1e-5, rtol=0)
    assert narrow.model.count_params() < full.model.count_params()


def test_a_narrow_model_converts_with_builtin_ops_and_scores_as_keras(
        export_model_dir, tiny_data_dir, tmp_path):
    from nlu_tf.export.convert import convert_model_dir, tflite_folder
    from nlu_tf.export.tflite_ops import inspect_ops
    from nlu_tf.serving.artefact import load_predictor
    from nlu_tf.serving.evaluation import evaluate_split

    narrow = save_model_dir(narrow_feed_forward(load_model_dir(export_model_dir), WIDTH),
                            str(tmp_path / "narrow"))
    convert = tmp_path / "convert"
    convert_model_dir(narrow, str(convert), ("float32",), saved_model=False)
    folder = str(convert / tflite_folder("float32"))
    with open(os.path.join(folder, "model.tflite"), "rb") as f:
        report = inspect_ops(f.read())
    assert report.custom == () and "FULLY_CONNECTED" in report.counts
    keras_metrics = evaluate_split(load_predictor(narrow, jit_compile=False), tiny_data_dir,
                                   "test")
    metrics = evaluate_split(load_predictor(folder), tiny_data_dir, "test")
    assert metrics["examples"] == keras_metrics["examples"] == 32
    assert metrics["intent_acc"] == keras_metrics["intent_acc"]
    assert metrics["slot_f1"] == pytest.approx(keras_metrics["slot_f1"], abs=1e-9)


def test_widths_out_of_range_are_refused(export_model_dir):
    bundle = load_model_dir(export_model_dir)
    full = bundle.model.encoder.intermediate_size
    for width in (0, full, full + 1, 2.5):
        with pytest.raises(ValueError, match=rf"intermediate_size must be an integer in "
                                             rf"1\.\.{full - 1}"):
            narrow_feed_forward(bundle, width)


def test_stage_2_1_narrows_its_new_student(tiny_model_dir, settings_factory, tmp_path):
    from nlu_tf.errors import InputError
    from nlu_tf.training.settings import StudentSettings, TrimSettings
    from nlu_tf.training.stage import run_stage

    teacher = load_model_dir(tiny_model_dir).model.encoder
    first = str(tmp_path / "student_2.1")
    run_stage(settings_factory(first, tiny_model_dir, stage="2.1", num_train_epochs=1,
                               trim=TrimSettings(enabled=True, share_rows=True),
                               student=StudentSettings(num_layers=1, intermediate_size=8,
                                                       embedding_size=8)))
    student = load_model_dir(first).model.encoder
    assert (student.intermediate_size, student.num_layers) == (8, 1)
    # Narrowed, then trimmed with shared rows and factorised: all three hold.
    assert student.embedding_size == 8 and student.embedding_rows < student.vocab_size
    assert teacher.intermediate_size > 8
    second = str(tmp_path / "student_2.2")
    metrics = run_stage(settings_factory(second, tiny_model_dir, stage="2.2",
                                         student_model=first, num_train_epochs=1))
    assert load_model_dir(second).model.encoder.intermediate_size == 8
    assert 0 <= metrics["dev"]["slot_f1"] <= 1
    with pytest.raises(ValueError, match="intermediate_size narrows the new student"):
        settings_factory(second, tiny_model_dir, stage="2.2", student_model=first,
                         student=StudentSettings(intermediate_size=8))
    with pytest.raises(InputError, match=r"^--intermediate_size: intermediate_size must be"):
        run_stage(settings_factory(str(tmp_path / "wide"), tiny_model_dir, stage="2.1",
                                   num_train_epochs=1,
                                   student=StudentSettings(num_layers=1,
                                                           intermediate_size=10_000)))
    assert not (tmp_path / "wide").exists()
