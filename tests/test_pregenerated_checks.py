"""Pregenerated data checked against its records before general distillation trains (#43
items 4, 9, 14): tampered metrics or records are one line naming the file and the record,
exit 2; a second run on the same output directory is refused while the first holds it."""

import json
import os
import shutil

import pytest
import tensorflow as tf

from nlu_tf.errors import InputError
from nlu_tf.pretraining.pregenerate import metrics_path
from nlu_tf.run_lock import run_lock
from tests.test_general_distill import GENERAL, _run, _vocab_size, write_corpus, \
    write_student_config

LENGTH = 32


@pytest.fixture(scope="module")
def data(tmp_path_factory, tiny_bert_dir):
    from nlu_tf.data.tokenizer import WordPieceTokenizer
    from nlu_tf.pretraining.pregenerate import pregenerate
    from nlu_tf.pretraining.settings import PregenerateSettings

    root = tmp_path_factory.mktemp("pregen")
    corpus = write_corpus(str(root / "corpus.txt"), lines=60)
    folder = str(root / "data")
    pregenerate(corpus, WordPieceTokenizer.from_model_dir(tiny_bert_dir), folder,
                PregenerateSettings(epochs_to_generate=1, max_seq_len=LENGTH, shard_size=8))
    return folder


def _copy(data, tmp_path):
    folder = str(tmp_path / "data")
    shutil.copytree(data, folder)
    with open(metrics_path(folder, 0), encoding="utf-8") as f:
        return folder, json.load(f)


def _check(folder, tiny_bert_dir):
    from nlu_tf.pretraining.general_distill import checked_epochs

    return checked_epochs(folder, _vocab_size(tiny_bert_dir))


def test_untouched_data_passes(data, tiny_bert_dir):
    (shards, length, count), = _check(data, tiny_bert_dir)
    assert length == LENGTH and count > 8 and len(shards) > 1


@pytest.mark.parametrize("change, problem", [
    ({"num_training_examples": 10 ** 15}, "num_training_examples is 1000000000000000, but"),
    ({"num_training_examples": 1}, "num_training_examples is 1, but"),
    ({"max_seq_len": 16}, "record 1: input_ids holds 32 values, not max_seq_len 16"),
    ({"max_seq_len": 64}, "record 1: input_ids holds 32 values, not max_seq_len 64"),
])
def test_metrics_that_disagree_with_the_records_are_refused(data, tiny_bert_dir, tmp_path,
                                                            change, problem):
    folder, metrics = _copy(data, tmp_path)
    metrics.update(change)
    with open(metrics_path(folder, 0), "w", encoding="utf-8") as f:
        json.dump(metrics, f)
    with pytest.raises(InputError, match=problem):
        _check(folder, tiny_bert_dir)


def _example(**features):
    base = {"input_ids": [2] + [7] * 10 + [3] + [0] * (LENGTH - 12),
            "input_mask": [1] * 12 + [0] * (LENGTH - 12), "segment_ids": [0] * LENGTH}
    base.update(features)
    return tf.train.Example(features=tf.train.Features(feature={
        name: tf.train.Feature(int64_list=tf.train.Int64List(value=values))
        for name, values in base.items() if values is not None})).SerializeToString()


def _rewrite_third_record(shard, record):
    records = [r.numpy() for r in tf.data.TFRecordDataset(shard)]
    records[2] = record
    with tf.io.TFRecordWriter(shard) as writer:
        for r in records:
            writer.write(r)


@pytest.mark.parametrize("record, problem", [
    (_example(segment_ids=[9] + [0] * (LENGTH - 1)), "segment_ids holds 9, a value other"),
    (_example(input_ids=[-7] * LENGTH), "input_ids holds -7, a token id outside"),
    (_example(input_ids=[10 ** 9] * LENGTH), "input_ids holds 1000000000, a token id outside"),
    (_example(input_mask=[10 ** 9] * LENGTH), "input_mask holds 1000000000, a value other"),
    (_example(input_ids=[2, 3]), "input_ids holds 2 values, not max_seq_len 32"),
    (_example(segment_ids=None), "segment_ids holds 0 values"),
    (b"\x00garbage, not an Example\xff", "not a tf.train.Example"),
])
def test_a_tampered_record_is_named(data, tiny_bert_dir, tmp_path, record, problem):
    folder, metrics = _copy(data, tmp_path)
    shard = os.path.join(folder, metrics["shards"][0])
    _rewrite_third_record(shard, record)
    with pytest.raises(InputError, match=problem) as error:
        _check(folder, tiny_bert_dir)
    assert str(error.value).startswith(f"{shard}: record 3: ")


def test_a_corrupt_shard_is_named(data, tiny_bert_dir, tmp_path):
    folder, metrics = _copy(data, tmp_path)
    shard = os.path.join(folder, metrics["shards"][1])
    with open(shard, "r+b") as f:
        f.seek(40)
        f.write(b"\xff" * 16)  # breaks a record's CRC
    with pytest.raises(InputError, match="not a readable TFRecord") as error:
        _check(folder, tiny_bert_dir)
    assert str(error.value).startswith(f"{shard}: record ")


def _general(data, tiny_bert_dir, student, output):
    return _run(GENERAL, "--pregenerated_data", data, "--teacher_model", tiny_bert_dir,
                "--student_model", student, "--output_dir", output, "--num_train_epochs", "1",
                "--train_batch_size", "8", "--nojit_compile")


def _one_line(done):
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-2000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_cli_refuses_tampered_data_and_a_second_run_and_its_input(data, tiny_bert_dir,
                                                                  tmp_path):
    student = write_student_config(str(tmp_path / "student"), _vocab_size(tiny_bert_dir))
    folder, metrics = _copy(data, tmp_path)
    shard = os.path.join(folder, metrics["shards"][0])
    _rewrite_third_record(shard, _example(input_ids=[-7] * LENGTH))
    line = _one_line(_general(folder, tiny_bert_dir, student, str(tmp_path / "out")))
    assert line.startswith(f"error: {shard}: record 3: input_ids holds -7")
    assert not (tmp_path / "out").exists()
    # The output directory is never one of the inputs.
    line = _one_line(_general(data, tiny_bert_dir, student, data))
    assert line.startswith(f"error: {data}: is the input {data}")
    # While a run holds the output directory, a second one gets one line (its PID).
    output = str(tmp_path / "locked")
    with run_lock(output):
        line = _one_line(_general(data, tiny_bert_dir, student, output))
    assert line == (f"error: {output}: another run (PID {os.getpid()}) is writing this output "
                    "directory; wait for it to end or choose another output directory")
