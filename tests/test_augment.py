"""Data augmentation: aligned tags, preserved slot types, no dev/test leak, determinism,
originals first, the masked-LM path on a tiny random checkpoint, and the command line."""

import collections
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from nlu_tf.augment.augmenter import AugmentSettings, augment_example, new_generator
from nlu_tf.augment.run import augment_dataset
from nlu_tf.augment.slots import SlotValues
from nlu_tf.augment.sources import load_candidate_source
from nlu_tf.augment.vocabulary import match_case, replaceable_token
from nlu_tf.data.reader import Example, read_lines, read_split
from nlu_tf.data.tokenizer import WordPieceTokenizer
from nlu_tf.errors import InputError
from nlu_tf.tag_rules import bio_spans
from nlu_tf.checkpoints.hf_reader import canonical_state, mlm_head_state
from tests.tiny import REPO, TINY_CONFIG, random_mlm_head_state, tiny_vocab, write_tiny_bert

TOOL = os.path.join(REPO, "tools", "data_augmentation.py")
FAVOURED = ("tune", "song", "playlist")


def _slot_types(tags):
    return [slot_type for _, _, slot_type in bio_spans(tags)]


def _write_split(directory, split, rows):
    folder = os.path.join(directory, split)
    os.makedirs(folder, exist_ok=True)
    for index, name in enumerate(("seq.in", "seq.out", "label")):
        with open(os.path.join(folder, name), "w", encoding="utf-8") as f:
            f.writelines(row[index] + "\n" for row in rows)


def _files(directory):
    return {name: open(os.path.join(directory, name), "rb").read()
            for name in ("seq.in", "seq.out", "label")}


@pytest.fixture(scope="module")
def mlm_bert_dir(tmp_path_factory):
    """The tiny random BERT with a masked-LM head whose bias favours a few words."""
    config = {**TINY_CONFIG, "vocab_size": len(tiny_vocab())}
    head = random_mlm_head_state(config)
    vocab = tiny_vocab()
    for word in FAVOURED:
        head["cls.predictions.bias"][vocab.index(word)] = 100.0
    return write_tiny_bert(str(tmp_path_factory.mktemp("mlm_bert")), mlm_head=head)


def test_stop_words_non_alphabetic_and_multi_piece_words_are_kept(tiny_bert_dir):
    tokenizer = WordPieceTokenizer.from_model_dir(tiny_bert_dir)
    assert replaceable_token("song", tokenizer) == "song"
    assert replaceable_token("Song", tokenizer) == "song"
    for word in ("the", "to", "for", "please", "7", "50s", "don't", "zyzzyva"):
        assert replaceable_token(word, tokenizer) is None, word
    assert match_case("tune", "Song") == "Tune"
    assert match_case("tune", "SONG") == "TUNE"
    assert match_case("tune", "song") == "tune"


def test_copies_keep_tags_aligned_and_slot_types_in_order():
    train = read_split(os.path.join(REPO, "data", "snips"), "train")[:300]
    inventory = SlotValues.from_examples(train)
    rng = new_generator(0)
    changed_length = 0
    for example in train:
        candidates = {j: ("alpha", "beta") for j, tag in enumerate(example.tags) if tag == "O"}
        for copy in augment_example(example, candidates, inventory, 4, 0.5, rng):
            assert len(copy.words) == len(copy.tags)
            assert _slot_types(copy.tags) == _slot_types(example.tags)
            assert copy.intent == example.intent
            changed_length += len(copy.words) != len(example.words)
            for word, tag, old_tag in zip(copy.words, copy.tags, example.tags):
                if tag == "O" and old_tag == "O" and len(copy.words) == len(example.words):
                    assert word in example.words or word in ("alpha", "beta")
    assert changed_length > 100  # slot values of other lengths were swapped in and re-tagged


def test_slot_value_is_replaced_by_another_value_of_its_type():
    train = [Example(("play", "abba"), ("O", "B-artist"), "PlayMusic"),
             Example(("play", "miles", "davis"), ("O", "B-artist", "I-artist"), "PlayMusic")]
    inventory = SlotValues.from_examples(train)
    copies = augment_example(train[0], {}, inventory, 3, 1.0, new_generator(0))
    assert [c.words for c in copies] == [("play", "miles", "davis")] * 3
    assert copies[0].tags == ("O", "B-artist", "I-artist")
    assert inventory.alternative("artist", ("abba",), new_generator(0)) == ("miles", "davis")
    assert inventory.alternative("city", ("paris",), new_generator(0)) is None


def test_dataset_run_is_aligned_originals_first_and_deterministic(tiny_data_dir, tiny_bert_dir,
                                                                   tmp_path):
    settings = AugmentSettings(copies=4, candidates=5, probability=0.5, seed=3)
    first, counts, kind = augment_dataset(tiny_data_dir, tiny_bert_dir, settings,
                                          str(tmp_path / "a" / "train_aug"), stream=None)
    second, _, _ = augment_dataset(tiny_data_dir, tiny_bert_dir, settings,
                                   str(tmp_path / "b" / "train_aug"), stream=None)
    other, _, _ = augment_dataset(tiny_data_dir, tiny_bert_dir,
                                  AugmentSettings(copies=4, candidates=5, probability=0.5, seed=4),
                                  str(tmp_path / "c" / "train_aug"), stream=None)
    assert kind == "embeddings"
    assert _files(first) == _files(second)
    assert _files(first) != _files(other)

    written = read_split(os.path.dirname(first), "train_aug")  # validates tag counts too
    train = read_split(tiny_data_dir, "train")
    assert counts.originals == len(train) == 64
    assert len(written) == counts.originals + counts.augmented
    assert counts.augmented > 64
    assert counts.augmented + counts.duplicates + counts.dropped_dev_test == 64 * 4
    for original, line in zip(train, written):
        assert (line.words, line.tags, line.intent) == (original.words, original.tags,
                                                        original.intent)
    by_intent = collections.defaultdict(set)
    for example in train:
        by_intent[example.intent].add(tuple(sorted(_slot_types(example.tags))))
    texts = [" ".join(e.words) for e in written]
    assert len(set(texts)) == len(texts)
    for example in written[64:]:
        assert len(example.words) == len(example.tags)
        assert tuple(sorted(_slot_types(example.tags))) in by_intent[example.intent]


def test_copies_equal_to_dev_or_test_are_dropped_and_counted(tiny_bert_dir, tmp_path):
    data = str(tmp_path / "data")
    # With p = 1 the only other artist, "queen", always replaces "abba": the copy would be
    # the dev utterance (which differs only in case).
    _write_split(data, "train", [("what about the abba", "O O O B-artist", "PlayMusic"),
                                 ("put on queen", "O O B-artist", "PlayMusic")])
    _write_split(data, "dev", [("What about the Queen", "O O O B-artist", "PlayMusic")])
    _write_split(data, "test", [("when is the show", "O O O O", "SearchScreeningEvent")])
    settings = AugmentSettings(copies=3, candidates=2, probability=1.0, seed=0)
    output, counts, _ = augment_dataset(data, tiny_bert_dir, settings, stream=None)
    assert output == os.path.join(data, "train_aug")
    assert counts.dropped_dev_test == 3
    lines = [line.lower() for line in read_lines(os.path.join(output, "seq.in"))]
    assert "what about the queen" not in lines
    assert lines[:2] == ["what about the abba", "put on queen"]


def test_a_failed_run_leaves_an_existing_output_untouched(tiny_bert_dir, tmp_path):
    data = str(tmp_path / "data")
    _write_split(data, "train", [("play abba", "O B-artist", "PlayMusic")])
    _write_split(data, "dev", [("play queen", "O B-artist", "PlayMusic")])
    output = tmp_path / "out" / "train_aug"
    output.mkdir(parents=True)
    (output / "seq.in").write_text("kept\n")
    with pytest.raises(InputError, match="split folder 'test' not found"):
        augment_dataset(data, tiny_bert_dir, AugmentSettings(copies=2), str(output), stream=None)
    assert os.listdir(tmp_path / "out") == ["train_aug"]
    assert os.listdir(output) == ["seq.in"] and (output / "seq.in").read_text() == "kept\n"


def test_writing_is_atomic(tmp_path):
    from nlu_tf.augment.writer import write_split

    good = Example(("play", "abba"), ("O", "B-artist"), "PlayMusic")
    broken = Example(("play", "abba"), ("O", "B-artist"), None)  # fails on the last file
    with pytest.raises(TypeError):
        write_split(str(tmp_path / "train_aug"), [good, broken])
    assert os.listdir(tmp_path) == []
    write_split(str(tmp_path / "train_aug"), [good])
    assert read_lines(str(tmp_path / "train_aug" / "seq.out")) == ["O B-artist"]


def test_mlm_head_is_read_from_every_checkpoint_naming():
    h5_like = {"tf_bert_for_masked_lm/mlm___cls/predictions/transform/dense/kernel:0":
               np.ones((4, 3), np.float32),
               "tf_bert_for_masked_lm/mlm___cls/predictions/transform/LayerNorm/gamma:0":
               np.ones(3, np.float32),
               "tf_bert_for_masked_lm/mlm___cls/predictions/bias:0": np.zeros(7, np.float32)}
    head = mlm_head_state(canonical_state(h5_like))
    assert head["transform.dense.weight"].shape == (3, 4)  # PyTorch layout (out, in)
    assert set(head) == {"transform.dense.weight", "transform.LayerNorm.weight", "bias"}
    torch_like = {"cls.predictions.transform.dense.weight": np.ones((3, 3)),
                  "cls.predictions.transform.LayerNorm.gamma": np.ones(3),
                  "cls.predictions.decoder.bias": np.zeros(7),
                  "cls.seq_relationship.weight": np.ones((2, 3))}
    head = mlm_head_state(canonical_state(torch_like))
    assert set(head) == {"transform.dense.weight", "transform.LayerNorm.weight",
                         "decoder.bias", "bias"}
    assert mlm_head_state({"embeddings.word_embeddings.weight": np.ones((7, 3))}) == {}


def test_mlm_head_matches_the_hugging_face_formula(mlm_bert_dir):
    from nlu_tf.checkpoints.hf_reader import read_raw_tensors
    from nlu_tf.model_io.hf_encoder import load_mlm_head
    from nlu_tf.models.mlm_head import MaskedLMHead

    state = canonical_state(read_raw_tensors(os.path.join(mlm_bert_dir, "model.safetensors")))
    head = mlm_head_state(state)
    embeddings = state["embeddings.word_embeddings.weight"]
    layer = MaskedLMHead(embeddings.shape[0], embeddings.shape[1])
    load_mlm_head(layer, head, embeddings, "test")
    hidden = np.random.default_rng(0).normal(size=(3, embeddings.shape[1])).astype(np.float32)
    x = hidden @ head["transform.dense.weight"].T + head["transform.dense.bias"]
    x = 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))
    x = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-12)
    x = x * head["transform.LayerNorm.weight"] + head["transform.LayerNorm.bias"]
    expected = x @ embeddings.T + head["bias"]
    np.testing.assert_allclose(np.asarray(layer(hidden)), expected, rtol=1e-4, atol=1e-3)


def test_mlm_path_predicts_top_m_whole_words_in_batches(mlm_bert_dir, tiny_data_dir, tmp_path):
    source = load_candidate_source(mlm_bert_dir, top_m=2, batch_size=8)
    assert source.kind == "mlm"
    train = read_split(tiny_data_dir, "train")
    found = source.word_candidates(train)
    assert sum(len(words) for words in found) > 50
    for example, words in zip(train, found):
        for index, candidates in words.items():
            assert example.tags[index] == "O"
            assert len(candidates) == 2
            assert set(candidates) <= set(FAVOURED) - {example.words[index]}

    settings = AugmentSettings(copies=3, candidates=2, probability=0.5, seed=0, batch_size=8)
    output, counts, kind = augment_dataset(tiny_data_dir, mlm_bert_dir, settings,
                                           str(tmp_path / "train_aug"), stream=None)
    assert kind == "mlm" and counts.augmented > 0
    written = read_split(str(tmp_path), "train_aug")
    assert any(set(FAVOURED) & set(e.words) for e in written[64:])
    again, _, _ = augment_dataset(tiny_data_dir, mlm_bert_dir, settings,
                                  str(tmp_path / "again"), stream=None)
    assert _files(output) == _files(again)


def test_cli_writes_train_aug_and_prints_counts(tmp_path, tiny_bert_dir):
    root = tmp_path / "root"
    from tests.tiny import write_tiny_dataset

    write_tiny_dataset(str(root / "snips"), train=16, dev=8, test=8)
    result = subprocess.run([sys.executable, TOOL, "--pretrained_bert_model", tiny_bert_dir,
                             "--data_dir", str(root), "--task_name", "snips", "--N", "2"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    counts = json.loads(result.stdout.strip().splitlines()[-1])
    assert counts["output_dir"] == str(root / "snips" / "train_aug")
    assert counts["originals"] == 16 and counts["augmented"] > 0
    assert "augment [" in result.stderr
    assert sorted(os.listdir(root / "snips")) == ["dev", "intent_label.txt", "slot_label.txt",
                                                  "test", "train", "train_aug"]


@pytest.mark.parametrize("args, expected", [
    (["--data_dir", "/no/such/dir", "--task_name", "snips"], "/no/such/dir: data directory not found"),
    (["--data_dir", REPO, "--p", "1.5"], "p (replacement probability) must be in [0, 1]"),
])
def test_cli_bad_input_is_one_line_and_status_2(args, expected):
    result = subprocess.run([sys.executable, TOOL, *args], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], result.stderr
