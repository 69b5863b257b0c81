"""Factorised token embeddings: the truncated SVD they start from, the same logits when the
table has that rank, a model directory that saves, loads, trims and converts, and stage 2.1
factorising its new student."""

import json
import os

import numpy as np
import pytest

from nlu_tf.data.dataset import pad_batch
from nlu_tf.data.features import encode_examples
from nlu_tf.data.reader import read_split
from nlu_tf.decoding import keras_logits_fn
from nlu_tf.surgery.factorise import factorise_embedding, factorised_tables
from nlu_tf.model_io.model_dir import load_model_dir, save_model_dir

RANK = 8
MAX_SEQ_LEN = 32


def test_tables_are_the_truncated_svd():
    rng = np.random.default_rng(0)
    table = rng.normal(size=(50, 12)).astype(np.float32)
    rows, projection = factorised_tables(table, 5)
    assert rows.shape == (50, 5) and projection.shape == (5, 12)
    singular = np.linalg.svd(table.astype(np.float64), compute_uv=False)
    # Eckart-Young: the residual of the best rank-5 approximation.
    residual = np.linalg.norm(table - rows @ projection)
    assert residual == pytest.approx(np.sqrt(np.sum(singular[5:] ** 2)), rel=1e-4)
    # The rows spread like the table's entries (one int8 scale suits both).
    assert np.sqrt(np.mean(rows ** 2)) == pytest.approx(np.std(table), rel=1e-4)
    low_rank = (rows @ projection).astype(np.float32)
    again_rows, again_projection = factorised_tables(low_rank, 5)
    np.testing.assert_allclose(again_rows @ again_projection, low_rank, atol=1e-5)


def _batch(bundle, data_dir, split="test"):
    examples = read_split(data_dir, split)
    features = encode_examples(examples, bundle.tokenizer, bundle.labels, MAX_SEQ_LEN)
    return pad_batch(features, np.arange(len(features)), 8, int(features.lengths.max()))[0]


@pytest.fixture(scope="module")
def low_rank(export_model_dir, tmp_path_factory):
    """`export_model_dir` with its token table replaced by its rank-RANK approximation,
    and that model factorised at RANK, both saved."""
    bundle = load_model_dir(export_model_dir)
    table = bundle.model.encoder.token_embedding.embeddings
    rows, projection = factorised_tables(table.numpy(), RANK)
    table.assign(rows @ projection)
    root = tmp_path_factory.mktemp("factorise")
    full = save_model_dir(bundle, str(root / "full"))
    factorised = save_model_dir(factorise_embedding(bundle, RANK), str(root / "factorised"))
    return full, factorised


def test_same_logits_when_the_table_has_that_rank(low_rank, tiny_data_dir):
    full, factorised = (load_model_dir(path) for path in low_rank)
    encoder = factorised.model.encoder
    assert encoder.embedding_size == RANK and full.model.encoder.embedding_size is None
    assert encoder.token_embedding.embeddings.shape == (full.tokenizer.vocab_size, RANK)
    assert encoder.token_projection.kernel.shape == (RANK, encoder.hidden_size)
    saved = {weight.path.split("/", 1)[-1] for weight in factorised.model.weights}
    assert "encoder/token_projection/kernel" in saved
    hidden = encoder.hidden_size
    assert (full.model.count_params() - factorised.model.count_params()
            == full.tokenizer.vocab_size * (hidden - RANK) - RANK * hidden)
    with open(os.path.join(low_rank[1], "config.json"), encoding="utf-8") as f:
        assert json.load(f)["model"]["encoder_config"]["embedding_size"] == RANK
    batch = _batch(full, tiny_data_dir)
    expected = keras_logits_fn(full.model, jit_compile=False)(batch)
    got = keras_logits_fn(factorised.model, jit_compile=False)(batch)
    real = batch["attention_mask"] == 1
    np.testing.assert_allclose(got[0], expected[0], atol=1e-5, rtol=0)
    np.testing.assert_allclose(got[1][real], expected[1][real], atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="factorised already"):
        factorise_embedding(factorised, 4)
    with pytest.raises(ValueError, match=r"1\.\.31 \(below the hidden size\), got 32"):
        factorise_embedding(full, hidden)


def test_trims_and_converts_with_builtin_ops(low_rank, tiny_data_dir, tmp_path):
    from nlu_tf.export.convert import convert_model_dir, tflite_folder
    from nlu_tf.export.metadata import read_model_info
    from nlu_tf.export.tflite_ops import inspect_ops
    from nlu_tf.export.trim_model_dir import trim_model_dir
    from nlu_tf.serving.artefact import load_predictor
    from nlu_tf.serving.evaluation import evaluate_split

    _, factorised = low_rank
    trimmed = str(tmp_path / "trimmed")
    summary = trim_model_dir(factorised, trimmed, [(tiny_data_dir, "train")])
    bundle, original = load_model_dir(trimmed), load_model_dir(factorised)
    assert bundle.model.encoder.token_embedding.embeddings.shape == (summary["vocab_size"], RANK)
    np.testing.assert_array_equal(bundle.model.encoder.token_projection.kernel.numpy(),
                                  original.model.encoder.token_projection.kernel.numpy())
    # In-vocabulary input (the split it was trimmed on): the logits of the untrimmed model.
    batch = _batch(original, tiny_data_dir, "train")
    trimmed_batch = _batch(bundle, tiny_data_dir, "train")
    real = batch["attention_mask"] == 1
    expected = keras_logits_fn(original.model, jit_compile=False)(batch)
    got = keras_logits_fn(bundle.model, jit_compile=False)(trimmed_batch)
    np.testing.assert_allclose(got[0], expected[0], atol=1e-5, rtol=0)
    np.testing.assert_allclose(got[1][real], expected[1][real], atol=1e-5, rtol=0)

    convert = tmp_path / "convert"
    convert_model_dir(trimmed, str(convert), ("float32", "dynamic"), saved_model=False)
    keras_runner = load_predictor(trimmed, jit_compile=False)
    keras_metrics = evaluate_split(keras_runner, tiny_data_dir, "test")
    for mode in ("float32", "dynamic"):
        folder = str(convert / tflite_folder(mode))
        info = read_model_info(folder)
        with open(os.path.join(folder, "model.tflite"), "rb") as f:
            report = inspect_ops(f.read())
        assert report.custom == () and "FULLY_CONNECTED" in report.counts, mode
        assert info["num_parameters"] == bundle.model.count_params()
        metrics = evaluate_split(load_predictor(folder), tiny_data_dir, "test")
        assert metrics["examples"] == keras_metrics["examples"] == 32
        if mode == "float32":
            assert metrics["intent_acc"] == keras_metrics["intent_acc"]
            assert metrics["slot_f1"] == pytest.approx(keras_metrics["slot_f1"], abs=1e-9)


def test_stage_2_1_factorises_its_new_student(tiny_model_dir, settings_factory, tmp_path):
    from nlu_tf.errors import InputError
    from nlu_tf.training.settings import StudentSettings, TrimSettings
    from nlu_tf.training.stage import run_stage

    first = str(tmp_path / "student_2.1")
    run_stage(settings_factory(first, tiny_model_dir, stage="2.1", num_train_epochs=1,
                               trim=TrimSettings(enabled=True),
                               student=StudentSettings(num_layers=1, embedding_size=RANK)))
    student = load_model_dir(first)
    assert student.model.encoder.embedding_size == RANK
    assert student.model.encoder.num_layers == 1
    assert student.tokenizer.vocab_size < load_model_dir(tiny_model_dir).tokenizer.vocab_size
    second = str(tmp_path / "student_2.2")
    metrics = run_stage(settings_factory(second, tiny_model_dir, stage="2.2",
                                         student_model=first, num_train_epochs=1))
    assert load_model_dir(second).model.encoder.embedding_size == RANK
    assert 0 <= metrics["dev"]["slot_f1"] <= 1
    with pytest.raises(ValueError, match="embedding_size factorises the new student"):
        settings_factory(second, tiny_model_dir, stage="2.2", student_model=first,
                         student=StudentSettings(embedding_size=RANK))
    with pytest.raises(InputError, match=r"^--embedding_size: embedding_size must be"):
        run_stage(settings_factory(str(tmp_path / "wide"), tiny_model_dir, stage="2.1",
                                   num_train_epochs=1,
                                   student=StudentSettings(num_layers=1, embedding_size=32)))
    assert not (tmp_path / "wide").exists()


def test_interrupted_stage_2_1_resumes_its_factorised_student(tiny_model_dir, settings_factory,
                                                              tmp_path):
    from nlu_tf.training.settings import StudentSettings, TrimSettings
    from nlu_tf.training.stage import run_stage
    from tests.interrupt import Interrupt, kill_at_step

    def settings(name):
        return settings_factory(str(tmp_path / name), tiny_model_dir, stage="2.1",
                                num_train_epochs=2, checkpoint_every=3, head_dropout=0.0,
                                trim=TrimSettings(enabled=True),
                                student=StudentSettings(num_layers=1, embedding_size=RANK))

    reference = run_stage(settings("reference"))
    interrupted = settings("resumed")
    with pytest.raises(Interrupt):
        run_stage(interrupted, callbacks=[kill_at_step(5)])
    assert not os.path.exists(interrupted.output_dir)
    resumed = run_stage(interrupted)
    assert resumed["resumed_from_step"] == 3 < resumed["steps"]
    assert resumed["dev"] == reference["dev"]
    want, got = (load_model_dir(s.output_dir).model.encoder for s in
                 (settings("reference"), interrupted))
    assert got.embedding_size == RANK
    for a, b in ((want.token_embedding.embeddings, got.token_embedding.embeddings),
                 (want.token_projection.kernel, got.token_projection.kernel)):
        np.testing.assert_allclose(b.numpy(), a.numpy(), atol=1e-6, rtol=0)
