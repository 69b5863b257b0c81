"""tools/pregenerate_training_data.py: corpus checks, instances and masking, TFRecord
shards, reproducible epochs, and the memory of the streaming mode."""

import collections
import os
import random
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from nlu_tf.data.tokenizer import WordPieceTokenizer
from nlu_tf.errors import InputError
from nlu_tf.pretraining.corpus import load_corpus
from nlu_tf.pretraining.instances import Vocabulary, document_instances
from nlu_tf.pretraining.pregenerate import pregenerate
from nlu_tf.pretraining.settings import PregenerateSettings
from tests.peak_memory import peak_of_call
from tests.test_general_distill import write_corpus
from tests.tiny import REPO, SNIPS

TOOL = os.path.join(REPO, "tools", "pregenerate_training_data.py")


@pytest.fixture(scope="module")
def tokenizer(tiny_bert_dir):
    return WordPieceTokenizer.from_model_dir(tiny_bert_dir)


def generated_corpus(path, lines, seed=0):
    """`lines` random sentences of 6-24 Snips words, documents of 2-12 sentences."""
    with open(os.path.join(SNIPS, "train", "seq.in"), encoding="utf-8") as f:
        words = sorted({w for line in f for w in line.split()})
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as f:
        written = 0
        while written < lines:
            size = min(rng.randint(2, 12), lines - written)
            for _ in range(size):
                f.write(" ".join(rng.choice(words) for _ in range(rng.randint(6, 24))) + "\n")
            f.write("\n")
            written += size
    return path


@pytest.mark.parametrize("content, problem", [
    (b"", "empty corpus"),
    (b"\n  \n\n", "empty corpus"),
    (b"play some jazz\n\nadd a song\n", "no document has more than one sentence"),
    (b"play some jazz\nadd a song\nbook a table for caf\xe9\n", ":3: not UTF-8 (byte 0xe9 at column 21)"),
])
def test_bad_corpus_gives_one_line_and_exit_2(tmp_path, tiny_bert_dir, content, problem):
    corpus = tmp_path / "corpus.txt"
    corpus.write_bytes(content)
    env = {**os.environ, "PYTHONPATH": REPO}
    done = subprocess.run([sys.executable, TOOL, "--train_corpus", str(corpus), "--bert_model",
                           tiny_bert_dir, "--output_dir", str(tmp_path / "out"),
                           "--reduce_memory"], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 2, done.stderr[-2000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {corpus}") and problem in lines[0]
    assert not (tmp_path / "out").exists()  # a refused run leaves no empty folder (#43)


def test_corpus_is_read_as_documents_with_both_stores(tmp_path, tokenizer):
    corpus = tmp_path / "c.txt"
    corpus.write_text("play jazz\nadd a song\n\n\nbook a table\n\x07\nplay music now\n\n")
    for reduce_memory in (False, True):
        documents, counts = load_corpus(str(corpus), tokenizer, reduce_memory, str(tmp_path / "w"))
        assert counts == {"documents": 2, "sentences": 4,
                          "tokens": counts["tokens"]} and len(documents) == 2
        assert [len(d) for d in (documents[0], documents[1])] == [2, 2]
        assert list(documents[1][1]) == tokenizer.encode_text("play music now").input_ids[1:-1]
    with pytest.raises(InputError, match="corpus file not found"):
        load_corpus(str(tmp_path / "missing.txt"), tokenizer)


def _instances(documents, tokenizer, settings, seed):
    rng = random.Random(seed)
    vocab = Vocabulary(tokenizer)
    return [instance for index in range(len(documents))
            for instance in document_instances(documents, index, vocab, settings, rng)]


@pytest.mark.parametrize("whole_word", [False, True])
def test_instances_are_bert_pairs_masked_80_10_10(tmp_path, tokenizer, whole_word):
    corpus = generated_corpus(str(tmp_path / "c.txt"), 3000)
    documents, _ = load_corpus(corpus, tokenizer)
    settings = PregenerateSettings(max_seq_len=128, whole_word_mask=whole_word)
    instances = _instances(documents, tokenizer, settings, seed=5)
    mask_id = tokenizer.token_to_id("[MASK]")
    outcomes, masked, tokens, random_next = collections.Counter(), 0, 0, 0
    for instance in instances:
        ids, segments = instance.input_ids, instance.segment_ids
        assert len(ids) == len(segments) <= 128
        assert ids[0] == tokenizer.cls_id and ids[-1] == tokenizer.sep_id
        first_sep = ids.index(tokenizer.sep_id)
        assert segments == [0] * (first_sep + 1) + [1] * (len(ids) - first_sep - 1)
        assert 1 <= len(instance.masked_positions) <= settings.max_predictions_per_seq
        for position, original in zip(instance.masked_positions, instance.masked_ids):
            assert original not in (tokenizer.cls_id, tokenizer.sep_id)
            outcomes["mask" if ids[position] == mask_id else
                     "kept" if ids[position] == original else "random"] += 1
        if whole_word:
            positions = set(instance.masked_positions)
            for p in positions:  # a masked piece's whole word is masked
                if p + 1 < len(ids) and p + 1 not in positions and original_is_piece(
                        tokenizer, instance, p + 1):
                    pytest.fail("a word was masked in part")
        masked += len(instance.masked_positions)
        tokens += len(ids)
        random_next += instance.is_random_next
    total = sum(outcomes.values())
    assert abs(outcomes["mask"] / total - 0.8) < 0.02
    assert abs(outcomes["kept"] / total - 0.1) < 0.02 and abs(outcomes["random"] / total - 0.1) < 0.02
    assert abs(masked / tokens - 0.15) < 0.01
    assert 0.3 < random_next / len(instances) < 0.7


def original_is_piece(tokenizer, instance, position):
    """Whether the original token at `position` continues a word (`##`)."""
    originals = dict(zip(instance.masked_positions, instance.masked_ids))
    token = originals.get(position, instance.input_ids[position])
    return tokenizer.id_to_token(token).startswith("##")


def _shard_bytes(folder, epoch):
    names = sorted(n for n in os.listdir(folder) if n.startswith(f"epoch_{epoch}-"))
    return [open(os.path.join(folder, n), "rb").read() for n in names]


def test_epochs_are_reproducible_masked_afresh_and_the_same_in_both_modes(tmp_path, tokenizer):
    corpus = write_corpus(str(tmp_path / "c.txt"))
    outputs = {}
    for name, reduce_memory in (("memory", False), ("reduced", True), ("again", True)):
        settings = PregenerateSettings(epochs_to_generate=2, max_seq_len=32, shard_size=50,
                                       reduce_memory=reduce_memory, seed=7)
        summary = pregenerate(corpus, tokenizer, str(tmp_path / name), settings)
        outputs[name] = [_shard_bytes(str(tmp_path / name), e) for e in range(2)]
        assert [n for n in os.listdir(tmp_path / name) if n.startswith(".")] == [".nlu_tf_output"]
    assert outputs["memory"] == outputs["reduced"] == outputs["again"]
    assert outputs["memory"][0] != outputs["memory"][1]
    assert len(outputs["memory"][0]) == -(-summary["examples_per_epoch"][0] // 50)
    spec = {"input_ids": tf.io.FixedLenFeature([32], tf.int64),
            "input_mask": tf.io.FixedLenFeature([32], tf.int64),
            "masked_lm_positions": tf.io.FixedLenFeature([20], tf.int64),
            "masked_lm_weights": tf.io.FixedLenFeature([20], tf.int64)}
    files = sorted(str(p) for p in (tmp_path / "memory").glob("epoch_0-*.tfrecord"))
    records = list(tf.data.TFRecordDataset(files).map(lambda r: tf.io.parse_single_example(r, spec)))
    assert len(records) == summary["examples_per_epoch"][0]
    for record in records[:20]:
        length = int(record["input_mask"].numpy().sum())
        assert np.all(record["input_ids"].numpy()[length:] == 0)
        count = int(record["masked_lm_weights"].numpy().sum())
        assert np.all(record["masked_lm_positions"].numpy()[:count] < length)


def pregenerate_for_memory(argument):
    """`peak_of_call` target: "CORPUS|BERT_DIR|OUTPUT|reduce or memory"."""
    corpus, bert, output, mode = argument.split("|")
    settings = PregenerateSettings(epochs_to_generate=1, reduce_memory=mode == "reduce")
    pregenerate(corpus, WordPieceTokenizer.from_model_dir(bert), output, settings)


# What the streaming mode may add to the resident set above its imports, whatever the
# corpus size: measured 10 MB on a generated corpus of 1M lines (26M tokens).
REDUCED_PEAK_BOUND = 32 * 2**20


def test_reduce_memory_peak_stays_bounded(tmp_path, tiny_bert_dir):
    corpus = generated_corpus(str(tmp_path / "c.txt"), 60_000)
    peaks = {}
    for mode in ("reduce", "memory"):
        argument = "|".join([corpus, tiny_bert_dir, str(tmp_path / mode), mode])
        peaks[mode], error = peak_of_call("tests.test_pretraining:pregenerate_for_memory",
                                          argument, timeout=600)
        assert error is None
    assert peaks["reduce"] < REDUCED_PEAK_BOUND, peaks
    # The control: holding the same corpus in memory shows up in the probe.
    assert peaks["memory"] > peaks["reduce"] + 8 * 2**20, peaks


def test_pair_truncation_is_linear_and_unchanged():
    """#43 item 6: the old loop deleted from the front of a list one token at a time."""
    import random
    import time

    from nlu_tf.pretraining.instances import _truncate_pair

    def one_by_one(a, b, max_tokens, rng):
        while len(a) + len(b) > max_tokens:
            longer = a if len(a) > len(b) else b
            del longer[0 if rng.random() < 0.5 else -1]

    for seed in range(20):
        sizes = random.Random(seed).randint(0, 300), random.Random(-seed).randint(0, 50)
        old = [list(range(sizes[0])), list(range(1000, 1000 + sizes[1]))]
        new = [list(x) for x in old]
        one_by_one(*old, 61, random.Random(seed))
        _truncate_pair(*new, 61, random.Random(seed))
        assert new == old
    a, b = list(range(400_000)), list(range(300_000))
    started = time.process_time()
    _truncate_pair(a, b, 125, random.Random(0))
    assert len(a) + len(b) == 125 and time.process_time() - started < 3.0


def _pregen(corpus, tokenizer, output, **overrides):
    from nlu_tf.pretraining.pregenerate import pregenerate
    from nlu_tf.pretraining.settings import PregenerateSettings

    settings = PregenerateSettings(**{"epochs_to_generate": 2, "max_seq_len": 16,
                                      "shard_size": 50, **overrides})
    return pregenerate(str(corpus), tokenizer, str(output), settings)


def test_rerun_resumes_the_same_corpus_and_refuses_another(tmp_path, tiny_bert_dir):
    """#43 item 8: a re-run never mixes two corpora's epochs; a refused run leaves no folder."""
    from nlu_tf.data.tokenizer import WordPieceTokenizer
    from nlu_tf.pretraining.pregenerate import metrics_path

    tokenizer = WordPieceTokenizer.from_model_dir(tiny_bert_dir)
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("play some jazz\nadd a song to my list\n\nbook a table\nfor two\n")
    output = tmp_path / "data"
    first = _pregen(corpus, tokenizer, output)
    os.remove(metrics_path(str(output), 1))  # as if killed during epoch 1
    again = _pregen(corpus, tokenizer, output)
    assert again["resumed_epochs"] == [0]
    assert again["examples_per_epoch"] == first["examples_per_epoch"]
    other = tmp_path / "other.txt"
    other.write_text("what is the weather\nin paris tomorrow\n\nrate this book\nfive stars\n")
    before = sorted(os.listdir(output))
    with pytest.raises(InputError, match="another corpus or other settings"):
        _pregen(other, tokenizer, output)
    with pytest.raises(InputError, match="another corpus or other settings"):
        _pregen(corpus, tokenizer, output, seed=7)
    assert sorted(os.listdir(output)) == before
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="did not write"):
        _pregen(corpus, tokenizer, foreign)
    with pytest.raises(InputError, match="is a parent of the input"):
        _pregen(corpus, tokenizer, tmp_path)
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    with pytest.raises(InputError, match="empty corpus"):
        _pregen(empty, tokenizer, tmp_path / "never")
    assert not (tmp_path / "never").exists()


def test_a_huge_line_is_cut_before_it_is_tokenized(tmp_path, tiny_bert_dir):
    """#43 item 7: only what max_seq_len can use of a line is tokenized; the rest is only
    checked as UTF-8, in bounded chunks."""
    from nlu_tf.data.tokenizer import WordPieceTokenizer
    from nlu_tf.pretraining.corpus import read_documents

    tokenizer = WordPieceTokenizer.from_model_dir(tiny_bert_dir)
    seen = []
    encode = tokenizer.encode_words
    tokenizer.encode_words = lambda words, *a: seen.append(len(words)) or encode(words, *a)
    corpus = tmp_path / "corpus.txt"
    corpus.write_bytes(b"play " * 2_000_000 + b"\nadd a song\n\n" + b"x" * 3_000_000 + b"\n")
    documents = list(read_documents(str(corpus), tokenizer, max_chars=500))
    assert seen == [100, 3, 1] and len(documents) == 2
    assert documents[0][0] == [documents[0][0][0]] * 100
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"ok line\n" + b"a" * 5000 + b"\xff tail\n")
    with pytest.raises(InputError, match=r":2: not UTF-8 \(byte 0xff at column 5001\)"):
        list(read_documents(str(bad), tokenizer, max_chars=500))
