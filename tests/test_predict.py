"""Tests of nlu_tf.serving.prediction and tools/predict.py."""

import json
import logging
import os
import re
import subprocess
import sys

import pytest

from nlu_tf.serving.prediction import (LinePrediction, format_json, format_lines, format_text,
                               predict_lines, slot_spans)
from nlu_tf.serving.prediction_stream import predict_stream
from nlu_tf.serving.artefact import load_predictor
from nlu_tf.tag_rules import bio_spans
from tests.tiny import REPO

TOOL = os.path.join(REPO, "tools", "predict.py")
LONG = " ".join(["play"] * 30 + ["some", "music"] * 15)  # 60 words > max_seq_len 32


def by_hand(text, tags, intent="PlayMusic", prob=0.9):
    """A `LinePrediction` with given tags for the whitespace-separated words of `text`."""
    spans = tuple(m.span() for m in re.finditer(r"\S+", text))
    return LinePrediction(text, tuple(text[s:e] for s, e in spans), spans, intent, prob,
                          tuple(tags))


def run_tool(*args):
    return subprocess.run([sys.executable, TOOL, *args], capture_output=True, text=True,
                          encoding="utf-8", cwd=REPO, timeout=300)


@pytest.fixture(scope="module")
def runner(tiny_model_dir):
    return load_predictor(tiny_model_dir, jit_compile=False)


def test_spans_offsets_and_text_format_by_hand():
    text = "play  the   Café del  Mar ✨ by Björk "
    result = by_hand(text, ["O", "B-album", "I-album", "I-album", "I-album", "I-genre", "O",
                            "B-artist"])
    spans = slot_spans(result)
    assert spans == [
        {"slot": "album", "text": "the   Café del  Mar", "start": 6, "end": 25},
        {"slot": "genre", "text": "✨", "start": 26, "end": 27},
        {"slot": "artist", "text": "Björk", "start": 31, "end": 36},
    ]
    for span in spans:
        assert text[span["start"]:span["end"]] == span["text"]
    assert format_text(result) == ("<PlayMusic> -> play [B-album:the] [I-album:Café] "
                                   "[I-album:del] [I-album:Mar] [I-genre:✨] by [B-artist:Björk]")
    record = json.loads(format_json(result))
    assert record == {"text": text, "intent": "PlayMusic", "intent_prob": 0.9, "truncated": False,
                      "slots": spans, "tags": list(result.tags)}
    assert "✨" in format_json(result)  # kept as is, not \u-escaped


# Spans (type, first word, last word) as conlleval chunks the tags: an I- after O or after
# another type starts a span, a B- always does.
CONLLEVAL_CASES = [
    (["I-a", "I-a", "B-a", "I-b", "O", "I-b"], [("a", 0, 1), ("a", 2, 2), ("b", 3, 3),
                                                 ("b", 5, 5)]),
    (["B-a", "B-a", "I-a", "O", "B-b", "I-a"], [("a", 0, 0), ("a", 1, 2), ("b", 4, 4),
                                                 ("a", 5, 5)]),
    (["O", "I-a", "B-b", "I-b", "I-b", "I-c"], [("a", 1, 1), ("b", 2, 4), ("c", 5, 5)]),
]


@pytest.mark.parametrize("tags, chunks", CONLLEVAL_CASES)
def test_spans_chunk_like_conlleval(tags, chunks):
    result = by_hand(" ".join(f"w{i}" for i in range(len(tags))), tags)
    spans = [(s["slot"], s["text"]) for s in slot_spans(result)]
    expected = [(kind, " ".join(f"w{i}" for i in range(first, last + 1)))
                for kind, first, last in chunks]
    assert spans == expected
    # The spans slot F1 counts are the same ones.
    assert bio_spans(tags) == [(first, last + 1, kind) for kind, first, last in chunks]


def test_empty_lines_keep_alignment_and_give_neutral_output(runner):
    lines = ["play the song by  Björk", "", "   ", "add 🎵 to my   playlist", "\u200b"]
    results = predict_lines(runner, lines, batch_size=2)
    assert [r.text for r in results] == lines
    for empty in (results[1], results[2]):
        assert (empty.intent, empty.intent_prob, empty.tags) == (None, None, ())
    assert format_lines(results, "text").split("\n")[1:3] == ["", ""]
    record = json.loads(format_lines(results, "json").splitlines()[2])
    assert record == {"text": "   ", "intent": None, "intent_prob": None, "truncated": False,
                      "slots": [], "tags": []}
    # A zero-width space is a word without any token: tagged O, no crash.
    assert results[4].intent in runner.labels.intents and results[4].tags == ("O",)
    for result, words in zip(results, (5, 0, 0, 5, 1)):
        assert len(result.tags) == words
        if result.intent is not None:
            assert 0.0 < result.intent_prob <= 1.0
        for span in slot_spans(result):
            assert result.text[span["start"]:span["end"]] == span["text"]
    # Batching by length and restoring the order gives what one line alone gives.
    for line, result in zip(lines, results):
        alone = predict_lines(runner, [line])[0]
        assert (alone.intent, alone.tags) == (result.intent, result.tags)
        assert alone.intent_prob == pytest.approx(result.intent_prob, abs=1e-5)


def test_overlong_line_is_truncated_with_one_counted_warning(runner, caplog):
    with caplog.at_level(logging.WARNING, logger="nlu_tf.serving.prediction"):
        results = predict_lines(runner, [LONG, "play music", LONG + " again"])
    warnings = [r.getMessage() for r in caplog.records if "truncated" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].startswith("2 of 3 line(s)"), warnings
    assert [r.truncated for r in results] == [True, False, True]
    assert len(results[0].tags) == 60
    assert set(results[0].tags[40:]) == {"O"}  # far beyond 30 word pieces


def test_cli_file_to_json(runner, tiny_model_dir, tmp_path):
    lines = ["play  Björk's   song", "", "party time 🎉🎉 now", LONG]
    source, output = tmp_path / "queries.txt", tmp_path / "out" / "preds.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run_tool("--model_dir", tiny_model_dir, "--input_file", str(source),
                      "--output_file", str(output), "--format", "json", "--nojit_compile")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"4 prediction(s) written to {output}"
    assert result.stderr.count("truncated") == 1
    written = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    expected = [json.loads(line) for line in
                format_lines(predict_lines(runner, lines), "json").splitlines()]
    assert len(written) == len(lines)
    for got, want in zip(written, expected):
        assert got.pop("intent_prob") == pytest.approx(want.pop("intent_prob"), abs=1e-5)
        assert got == want
    assert written[1]["intent"] is None and written[3]["truncated"]
    assert os.listdir(output.parent) == ["preds.jsonl"]  # no temporary file left behind


def test_cli_query_to_stdout_as_text(runner, tiny_model_dir):
    query = "add  Café  del Mar to my playlist"
    result = run_tool("--model_dir", tiny_model_dir, "--input_query", query,
                      "--nojit_compile")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [format_text(predict_lines(runner, [query])[0])]


def test_cli_input_errors_exit_2_with_one_line_and_no_output(tmp_path):
    output = tmp_path / "preds.txt"
    missing = run_tool("--model_dir", str(tmp_path), "--input_file", str(tmp_path / "nope.txt"),
                       "--output_file", str(output))
    assert missing.returncode == 2
    assert missing.stderr.splitlines() == [f"error: {tmp_path / 'nope.txt'}: file not found"]
    assert not os.listdir(tmp_path)
    for args in (["--input_file", "q.txt", "--input_query", "play jazz"], []):
        result = run_tool("--model_dir", str(tmp_path), *args)
        assert result.returncode == 2
        assert result.stderr.splitlines() == [
            "error: command line: give exactly one of --input_file and --input_query"]


def test_every_artefact_predicts_the_same_lines(export_model_dir, convert_dir, tmp_path):
    lines = ["play  Björk's   song", "", "what's the weather in 東京 today?", LONG,
             "rate this\tbook 5 stars", "book a table for two at a sushi bar"]
    paths = [export_model_dir, os.path.join(convert_dir, "saved_model"),
             os.path.join(convert_dir, "tflite_float32")]
    texts, records = [], []
    for path in paths:
        results = predict_lines(load_predictor(path, jit_compile=False), lines, batch_size=2)
        texts.append(format_lines(results, "text"))
        records.append([json.loads(line) for line in format_lines(results, "json").splitlines()])
    tags = {tag for record in records[0] for tag in record["tags"]}
    assert len(tags) > 3, tags  # random heads: agreement is not true by construction
    for text, artefact_records in zip(texts[1:], records[1:]):
        assert text == texts[0]
        for got, want in zip(artefact_records, records[0]):
            got, want = dict(got), dict(want)
            if want["intent_prob"] is not None:
                assert got.pop("intent_prob") == pytest.approx(want.pop("intent_prob"), abs=1e-5)
            assert got == want

    # int8 predicts differently here and there, in the same format.
    int8 = predict_lines(load_predictor(os.path.join(convert_dir, "tflite_int8")), lines)
    for got, want in zip(map(json.loads, format_lines(int8, "json").splitlines()), records[0]):
        assert list(got) == list(want)
        assert len(got["tags"]) == len(want["tags"]) and got["truncated"] == want["truncated"]

    source = tmp_path / "queries.txt"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run_tool("--model_dir", paths[2], "--input_file", str(source), "--num_threads", "2")
    assert result.returncode == 0, result.stderr
    assert result.stdout == texts[0]


def test_stream_reads_lazily_in_windows_and_predicts_like_predict_lines(runner, caplog):
    lines = [("" if i % 7 == 3 else f"play song {i} by artist {i % 5}") + (" " + LONG) * (i == 20)
             for i in range(120)]
    pulled = []

    def source():
        for line in lines:
            pulled.append(line)
            yield line

    stream = predict_stream(runner, source(), batch_size=4, window_batches=2)
    first = next(stream)
    # One window: 8 lines with words (and the empty ones between them), not the whole input.
    assert 8 <= len(pulled) <= 10, len(pulled)
    with caplog.at_level(logging.WARNING, logger="nlu_tf.serving.prediction"):
        results = [first] + list(stream)
    assert len(pulled) == len(lines)
    expected = predict_lines(runner, lines, batch_size=4)
    assert [(r.text, r.intent, r.tags, r.truncated) for r in results] == \
        [(r.text, r.intent, r.tags, r.truncated) for r in expected]
    warnings = [r.getMessage() for r in caplog.records if "truncated" in r.getMessage()]
    assert warnings == ["1 of 120 line(s) longer than max_seq_len=32 tokens were truncated; "
                        "their words beyond the limit are tagged 'O'"] * 2


def test_cli_refuses_an_output_file_that_is_the_input(tmp_path):
    source = tmp_path / "queries.txt"
    source.write_text("play jazz\nbook a table\n", encoding="utf-8")
    (tmp_path / "link.txt").symlink_to(source)
    os.link(source, tmp_path / "hard.txt")
    for output in (str(source), str(tmp_path / "link.txt"), str(tmp_path / "hard.txt"),
                   os.path.relpath(source, REPO)):
        result = run_tool("--model_dir", str(tmp_path), "--input_file", str(source),
                          "--output_file", output)
        assert result.returncode == 2, result.stderr
        assert result.stderr.splitlines() == [
            f"error: {output}: is the input file {source}: writing it would destroy the input; "
            "choose another output file"]
    assert source.read_text(encoding="utf-8") == "play jazz\nbook a table\n"
    assert sorted(os.listdir(tmp_path)) == ["hard.txt", "link.txt", "queries.txt"]
