"""Golden vectors: each case is what nlu_tf's tokenizer and decoding give, so a client that
matches them (android/'s Java, checked by `make android-test`) matches nlu_tf."""

import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from nlu_tf.decoding import decode
from nlu_tf.export.metadata import load_artefact_info
from nlu_tf.serving.golden import GRID, HOSTILE_TEXTS, fuzz_texts, golden_case, write_golden
from tests.android_fixtures import cased_vocab, write_fixture
from tests.tiny import REPO

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "play", "some", "jazz", "by", "miles", "davis",
         "##s", "cafe", "del", "mar", "!", "a"]


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("golden") / "uncased")
    write_fixture(folder, VOCAB, True, os.path.join(REPO, "data", "snips"), 8)
    return folder


def test_case_holds_the_tokenizer_output_and_the_decoding_of_its_logits(export_dir):
    artefact = load_artefact_info(export_dir)
    rng = np.random.default_rng(3)
    tags = ("O", "O", "B-music_item", "O", "B-artist", "I-artist")
    case = golden_case(artefact, "t:1", "play some JAZZ by Miles Davis", rng, "PlayMusic", tags)
    encoding = artefact.tokenizer.encode_text(case["text"], 8)
    assert case["input_ids"] == encoding.input_ids and case["word_starts"] == encoding.word_starts
    assert case["word_spans"] == [[0, 4], [5, 9], [10, 14], [15, 17], [18, 23], [24, 29]]
    slot_logits = np.array(case["slot_logits"])
    assert slot_logits.shape == (len(encoding.input_ids), len(artefact.labels.slots))
    assert np.array_equal(slot_logits * GRID, np.round(slot_logits * GRID))
    prediction = decode(np.array([case["intent_logits"]]), slot_logits[None],
                        [encoding.word_starts], np.array([6]), artefact.labels)[0]
    assert case["expected"]["tags"] == list(prediction.tags)
    assert case["expected"]["intent"] == prediction.intent == artefact.labels.intents[case["intent_id"]]
    for position, word in enumerate(encoding.word_starts):
        tag_id = case["tag_ids"][position]
        assert (tag_id == -1) == (word < 0)
        if word >= 0:
            assert artefact.labels.slots[tag_id] == prediction.tags[word]
    for span in case["expected"]["slots"]:
        assert case["text"][span["start"]:span["end"]] == span["text"]


def test_truncated_and_empty_utterances(export_dir):
    artefact = load_artefact_info(export_dir)
    rng = np.random.default_rng(0)
    long = golden_case(artefact, "t:2", "play some jazz by miles davis now", rng)
    assert long["truncated"] and long["expected"]["truncated"] and len(long["input_ids"]) <= 8
    assert long["expected"]["tags"][-1] == "O"
    empty = golden_case(artefact, "t:3", " \u3000\t", rng)
    assert empty["input_ids"] == [2, 3] and empty["word_spans"] == []
    assert empty["expected"]["intent"] is None and empty["intent_id"] is None


def test_written_cases_are_seeded_and_cover_the_hostile_set(export_dir):
    artefact = load_artefact_info(export_dir)
    sources = [(f"h:{i}", text, None, None) for i, text in enumerate(HOSTILE_TEXTS + fuzz_texts(5))]
    first, second = io.StringIO(), io.StringIO()
    assert write_golden(artefact, sources, first, seed=4) == len(sources)
    write_golden(artefact, sources, second, seed=4)
    assert first.getvalue() == second.getvalue()
    cases = [json.loads(line) for line in first.getvalue().splitlines()]
    assert [case["text"] for case in cases] == [text for _, text, _, _ in sources]
    assert any(case["truncated"] for case in cases)
    assert fuzz_texts(5) == fuzz_texts(5) and fuzz_texts(5, seed=1) != fuzz_texts(5)


def test_cased_vocabulary_adds_cased_forms():
    vocab = cased_vocab(VOCAB)
    assert vocab[:len(VOCAB)] == VOCAB and {"Play", "PLAY", "##S", "É", "##σ"} <= set(vocab)
    assert len(vocab) == len(set(vocab))


def _run(*args):
    env = {**os.environ, "PYTHONPATH": REPO, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run([sys.executable, os.path.join(REPO, "tools", "golden_vectors.py"), *args],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=180)


def test_command_writes_cases_and_refuses_bad_input_in_one_line(export_dir, tmp_path):
    output = tmp_path / "golden.jsonl"
    done = _run("--export_dir", export_dir, "--output", str(output), "--tasks=",
                "--fuzz", "3")
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(output.read_text(encoding="utf-8").splitlines()) == len(HOSTILE_TEXTS) + 3
    for args, problem in ((("--export_dir", str(tmp_path / "none"), "--output", str(output)),
                           "missing"),
                          (("--export_dir", export_dir, "--output", str(tmp_path / "empty"),
                            "--tasks=", "--nohostile", "--fuzz", "0"), "no cases")):
        done = _run(*args)
        errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
        assert done.returncode == 2 and len(errors) == 1 and problem in errors[0], done.stderr[-2000:]
        assert "Traceback" not in done.stderr
    assert not (tmp_path / "empty").exists()
