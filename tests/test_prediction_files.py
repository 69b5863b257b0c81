"""Predictions made elsewhere (JSON lines in nlu-predict's shape) scored with the project's
metrics and compared line by line (`nlu-evaluate --predictions`)."""

import json
import os
import subprocess
import sys

import pytest

from nlu_tf.data.reader import read_split
from nlu_tf.errors import InputError
from nlu_tf.serving.prediction_files import (compare_predictions, read_predictions,
                                             score_predictions, tags_from_spans)
from tests.tiny import REPO


def _gold_records(examples):
    records = []
    for example in examples:
        text, spans, offset, starts = " ".join(example.words), [], 0, []
        for word in example.words:
            starts.append((offset, offset + len(word)))
            offset += len(word) + 1
        for index, tag in enumerate(example.tags):
            if tag.startswith("B-"):
                end = index
                while end + 1 < len(example.tags) and example.tags[end + 1] == "I-" + tag[2:]:
                    end += 1
                spans.append({"slot": tag[2:], "start": starts[index][0], "end": starts[end][1]})
        records.append({"text": text, "intent": example.intent, "slots": spans})
    return records


def test_tags_from_spans_cover_every_touched_word():
    text = "fly to new york at 4:00 pm"
    spans = [{"slot": "city", "start": 7, "end": 15}, {"slot": "time", "start": 19, "end": 26}]
    assert tags_from_spans(text, spans) == ["O", "O", "B-city", "I-city", "O", "B-time", "I-time"]
    # a span starting inside a word (a client that splits at punctuation) tags that word
    assert tags_from_spans("at 4:00", [{"slot": "time", "start": 5, "end": 7}]) == ["O", "B-time"]


def test_gold_predictions_score_perfectly_and_differences_are_listed(tiny_data_dir):
    examples = read_split(tiny_data_dir, "test")
    records = _gold_records(examples)
    metrics = score_predictions(examples, records)
    assert metrics["intent_acc"] == metrics["slot_f1"] == metrics["sentence_acc"] == 1.0
    changed = [dict(record) for record in records]
    changed[3] = {**changed[3], "intent": "Other"}
    summary, differences = compare_predictions(changed, records)
    assert [number for number, _, _ in differences] == [4]
    assert summary["same_intent"] == pytest.approx(1 - 1 / len(records))
    assert score_predictions(examples, changed)["intent_acc"] < 1.0


def test_bad_files_are_refused_with_file_and_line(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text('{"text": "a b", "intent": "x", "slots": []}\n{"text": "a", "slots": '
                    '[{"slot": "s", "start": 0, "end": 9}]}\n', encoding="utf-8")
    with pytest.raises(InputError, match="outside the text") as error:
        read_predictions(str(path))
    assert error.value.line == 2 and str(error.value).startswith(f"{path}:2: ")


def test_cli_scores_a_predictions_file(tiny_data_dir, tmp_path):
    examples = read_split(tiny_data_dir, "test")
    path = tmp_path / "p.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in _gold_records(examples)),
                    encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": REPO, "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run([sys.executable, os.path.join(REPO, "tools", "evaluate.py"),
                           "--data_dir", tiny_data_dir, "--task", "", "--split", "test",
                           "--predictions", str(path), "--compare_predictions", str(path)],
                          env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "same_both 1.0000" in done.stdout
