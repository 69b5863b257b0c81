"""A shared token table: a trimmed model that keeps its whole vocabulary, each dropped piece
reading its nearest kept piece's row. The row map, the model directory that saves, loads,
converts and exports it, the hostile map refused, and stage 2.1 trimming this way."""

import logging
import os

import numpy as np
import pytest

from nlu_tf.data.dataset import pad_batch
from nlu_tf.data.features import encode_examples
from nlu_tf.data.reader import read_split
from nlu_tf.decoding import keras_logits_fn
from nlu_tf.errors import InputError
from nlu_tf.export.trim_model_dir import trim_model_dir
from nlu_tf.model_io.model_dir import load_model_dir
from nlu_tf.surgery.shared_rows import nearest_kept_rows

MAX_SEQ_LEN = 32


def test_a_dropped_piece_reads_its_nearest_kept_piece_of_the_same_kind():
    vocab = ["[PAD]", "[UNK]", "a", "b", "c", "##a", "##b", "##c", "[unused1]"]
    table = np.array([[1, 1, 1], [0, 0, 1],              # specials: never borrowed
                      [1, 0, 0], [0, 1, 0], [0.9, 0.1, 0],  # c is near a
                      [1, 0, 0], [0, 1, 0], [0.1, 0.9, 0],  # ##c is near ##b
                      [0.95, 0.05, 0]], np.float32)
    kept = ["[PAD]", "[UNK]", "b", "a", "##a", "##b"]
    rows = nearest_kept_rows(table, vocab, kept)
    assert rows.dtype == np.int32 and rows.shape == (len(vocab),)
    by_token = {token: kept[row] for token, row in zip(vocab, rows)}
    assert by_token == {"[PAD]": "[PAD]", "[UNK]": "[UNK]", "a": "a", "b": "b", "c": "a",
                        "##a": "##a", "##b": "##b", "##c": "##b",
                        # a word start: among the word starts, not [PAD] ([1, 1, 1])
                        "[unused1]": "a"}


def _logits(bundle, data_dir, split):
    examples = read_split(data_dir, split)
    features = encode_examples(examples, bundle.tokenizer, bundle.labels, MAX_SEQ_LEN)
    batch = pad_batch(features, np.arange(len(features)), 8, int(features.lengths.max()))[0]
    return batch, keras_logits_fn(bundle.model, jit_compile=False)(batch)


@pytest.fixture(scope="module")
def shared(export_model_dir, tiny_data_dir, tmp_path_factory):
    """`export_model_dir` trimmed on the tiny training split, rows shared."""
    path = str(tmp_path_factory.mktemp("shared") / "shared")
    summary = trim_model_dir(export_model_dir, path, [(tiny_data_dir, "train")],
                             share_rows=True)
    return path, summary


def test_whole_vocabulary_kept_rows_trimmed_and_in_vocabulary_logits_unchanged(
        shared, export_model_dir, tiny_data_dir):
    path, summary = shared
    original, bundle = load_model_dir(export_model_dir), load_model_dir(path)
    encoder = bundle.model.encoder
    assert summary["share_rows"] is True
    assert bundle.tokenizer.vocab == original.tokenizer.vocab
    assert encoder.vocab_size == original.model.encoder.vocab_size
    assert encoder.embedding_rows == summary["vocab_size"] < encoder.vocab_size
    assert encoder.token_embedding.embeddings.shape[0] == summary["vocab_size"]
    # The split it was trimmed on reads only kept rows: the untrimmed model's logits.
    before, (intent_a, slot_a) = _logits(original, tiny_data_dir, "train")
    after, (intent_b, slot_b) = _logits(bundle, tiny_data_dir, "train")
    np.testing.assert_array_equal(after["input_ids"], before["input_ids"])
    real = before["attention_mask"] == 1
    np.testing.assert_allclose(intent_b, intent_a, atol=1e-6, rtol=0)
    np.testing.assert_allclose(slot_b[real], slot_a[real], atol=1e-6, rtol=0)
    # Test is split as before trimming. Every row of the table is the original row of one
    # kept piece, which reads it; every id (those of test among them) reads one of these.
    test_batch, _ = _logits(bundle, tiny_data_dir, "test")
    test_before, _ = _logits(original, tiny_data_dir, "test")
    np.testing.assert_array_equal(test_batch["input_ids"], test_before["input_ids"])
    row_map = encoder.token_row_map.numpy()
    table = encoder.token_embedding.embeddings.numpy()
    full = original.model.encoder.token_embedding.embeddings.numpy()
    kept_ids = sorted(set(row_map.tolist()))
    assert len(kept_ids) <= encoder.embedding_rows
    reads_own_row = np.all(table[row_map] == full, axis=1)
    assert set(row_map[reads_own_row].tolist()) == set(range(encoder.embedding_rows))
    # The ids of the split it was trimmed on all read their own rows.
    np.testing.assert_array_equal(table[row_map[before["input_ids"]]], full[before["input_ids"]])


@pytest.fixture(scope="module")
def converted(shared, tiny_data_dir, tmp_path_factory):
    """The shared-rows model as float32 and dynamic-range TFLite, and its Keras test scores."""
    from nlu_tf.export.convert import convert_model_dir
    from nlu_tf.serving.artefact import load_predictor
    from nlu_tf.serving.evaluation import evaluate_split

    path, _ = shared
    convert = tmp_path_factory.mktemp("converted") / "convert"
    convert_model_dir(path, str(convert), ("float32", "dynamic"), saved_model=False)
    keras_metrics = evaluate_split(load_predictor(path, jit_compile=False), tiny_data_dir, "test")
    return convert, keras_metrics


def _map_dtypes(tflite_path, vocab_size):
    import tensorflow as tf

    interpreter = tf.lite.Interpreter(model_path=tflite_path)
    return sorted({detail["dtype"].__name__ for detail in interpreter.get_tensor_details()
                   if list(detail["shape"]) == [vocab_size]})


def test_converts_with_builtin_ops_and_exports_the_table_expanded(shared, converted,
                                                                  tiny_data_dir, tmp_path):
    from nlu_tf.export.convert import tflite_folder
    from nlu_tf.export.tflite_ops import inspect_ops
    from nlu_tf.model_io.hf_encoder import load_hf_encoder, save_hf_encoder
    from nlu_tf.serving.artefact import load_predictor
    from nlu_tf.serving.evaluation import evaluate_split

    path, _ = shared
    bundle = load_model_dir(path)
    convert, keras_metrics = converted
    for mode in ("float32", "dynamic"):
        folder = str(convert / tflite_folder(mode))
        with open(os.path.join(folder, "model.tflite"), "rb") as f:
            report = inspect_ops(f.read())
        assert report.custom == () and report.counts.get("GATHER", 0) >= 2, mode
        # The table has fewer than 32,768 rows: the map is stored as int16.
        assert _map_dtypes(os.path.join(folder, "model.tflite"),
                           bundle.tokenizer.vocab_size) == ["int16"], mode
        metrics = evaluate_split(load_predictor(folder), tiny_data_dir, "test")
        assert metrics["examples"] == keras_metrics["examples"] == 32
        if mode == "float32":
            assert metrics["intent_acc"] == keras_metrics["intent_acc"]
            assert metrics["slot_f1"] == pytest.approx(keras_metrics["slot_f1"], abs=1e-9)
    # A Hugging Face export has one row per id (BertModel has no row map).
    hf = save_hf_encoder(bundle.model.encoder, bundle.tokenizer, str(tmp_path / "hf"))
    encoder = load_hf_encoder(hf)
    ids = np.arange(bundle.tokenizer.vocab_size)
    np.testing.assert_array_equal(encoder.token_embedding.embeddings.numpy(),
                                  bundle.model.encoder.token_embedding.embeddings.numpy()[
                                      bundle.model.encoder.token_row_map.numpy()[ids]])


def test_a_table_beyond_int16_rows_keeps_an_int32_map_and_the_same_scores(
        shared, converted, tiny_data_dir, tmp_path, monkeypatch):
    from nlu_tf.export.convert import convert_model_dir, tflite_folder
    from nlu_tf.models import bert_encoder
    from nlu_tf.serving.artefact import load_predictor
    from nlu_tf.serving.evaluation import evaluate_split

    path, _ = shared
    vocab_size = load_model_dir(path).tokenizer.vocab_size
    int16_convert, keras_metrics = converted
    int16_tflite = os.path.join(str(int16_convert / tflite_folder("float32")), "model.tflite")
    assert _map_dtypes(int16_tflite, vocab_size) == ["int16"]
    monkeypatch.setattr(bert_encoder, "INT16_ROWS", 1)
    convert_model_dir(path, str(tmp_path / "int32"), ("float32",), saved_model=False)
    tflite = os.path.join(str(tmp_path / "int32" / tflite_folder("float32")), "model.tflite")
    assert _map_dtypes(tflite, vocab_size) == ["int32"]
    metrics = evaluate_split(load_predictor(os.path.dirname(tflite)), tiny_data_dir, "test")
    assert metrics["intent_acc"] == keras_metrics["intent_acc"]
    assert metrics["slot_f1"] == pytest.approx(keras_metrics["slot_f1"], abs=1e-9)
    # 2 bytes an entry, less a CAST op and padding
    assert os.path.getsize(tflite) > os.path.getsize(int16_tflite)


def test_a_row_map_pointing_outside_the_table_is_refused(shared, tmp_path):
    import shutil

    import h5py

    path, _ = shared
    hostile = str(tmp_path / "hostile")
    shutil.copytree(path, hostile)
    weights = os.path.join(hostile, "model.weights.h5")
    with h5py.File(weights, "r+") as f:
        names = []
        f.visititems(lambda name, item: names.append(name)
                     if isinstance(item, h5py.Dataset) and item.dtype.kind == "i" else None)
        assert len(names) == 1, names
        data = f[names[0]][()]
        data[3] = 10 ** 6
        f[names[0]][...] = data
    with pytest.raises(InputError, match=r"token_row_map entry 3 is 1000000, outside the "
                                         r"table's \d+ rows"):
        load_model_dir(hostile)


def test_embedding_rows_must_fit_the_vocabulary():
    from nlu_tf.models.encoder_config import check_encoder_config

    for bad in (0, 201, 2.5, "10"):
        with pytest.raises(InputError, match=r"embedding_rows must be null or an integer in "
                                             r"1\.\.200 \(at most vocab_size\)"):
            check_encoder_config({"vocab_size": 200, "embedding_rows": bad}, "config.json")


def test_stage_2_1_shares_rows_and_the_teacher_reads_the_same_ids(tiny_model_dir,
                                                                  settings_factory, tmp_path):
    from nlu_tf.training.settings import StudentSettings, TrimSettings
    from nlu_tf.training.stage import run_stage

    first = str(tmp_path / "student_2.1")
    run_stage(settings_factory(first, tiny_model_dir, stage="2.1", num_train_epochs=1,
                               trim=TrimSettings(enabled=True, share_rows=True),
                               student=StudentSettings(num_layers=1, embedding_size=8)))
    student, teacher = load_model_dir(first), load_model_dir(tiny_model_dir)
    encoder = student.model.encoder
    assert student.tokenizer.vocab == teacher.tokenizer.vocab
    assert encoder.embedding_size == 8 and encoder.embedding_rows < encoder.vocab_size
    assert encoder.token_embedding.embeddings.shape == (encoder.embedding_rows, 8)
    second = str(tmp_path / "student_2.2")
    run_stage(settings_factory(second, tiny_model_dir, stage="2.2", student_model=first,
                               num_train_epochs=1))
    again = load_model_dir(second).model.encoder
    np.testing.assert_array_equal(again.token_row_map.numpy(), encoder.token_row_map.numpy())
    with pytest.raises(ValueError, match="trim_share_rows goes with trim_vocab"):
        settings_factory(second, tiny_model_dir, stage="2.1",
                         trim=TrimSettings(share_rows=True))


def test_the_log_line_counts_rows_not_tokens_when_rows_are_shared(export_model_dir,
                                                                   tiny_data_dir, tmp_path,
                                                                   caplog):
    caplog.set_level(logging.INFO)
    summary = trim_model_dir(export_model_dir, str(tmp_path / "shared"),
                             [(tiny_data_dir, "train")], share_rows=True)
    line = f"{summary['original_vocab_size']} -> {summary['vocab_size']} embedding rows"
    assert line in caplog.text and "tokens kept: shared rows" in caplog.text
    caplog.clear()
    trim_model_dir(export_model_dir, str(tmp_path / "trimmed"), [(tiny_data_dir, "train")])
    assert f"-> {summary['vocab_size']} tokens," in caplog.text
