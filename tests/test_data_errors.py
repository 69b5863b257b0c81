"""Bad datasets: one line naming file, line and problem, exit status 2, nothing written."""

import os
import shutil
import subprocess
import sys

import pytest

from nlu_tf.data.reader import LabelMaps, read_dataset, read_split
from nlu_tf.errors import InputError
from tests.tiny import REPO, write_tiny_dataset

TRAIN = os.path.join(REPO, "tools", "train.py")


def _append(path, text):
    with open(path, "ab") as f:
        f.write(text)


def _replace_line(path, number, text):
    with open(path, "rb") as f:
        lines = f.read().split(b"\n")
    lines[number - 1] = text
    with open(path, "wb") as f:
        f.write(b"\n".join(lines))


def _break(kind, d):
    train = os.path.join(d, "train")
    if kind == "line_counts":
        _append(os.path.join(train, "seq.out"), b"O O\n")
        return "train/seq.in:65: line counts differ (seq.in 64, seq.out 65, label 64)"
    if kind == "tag_count":
        _replace_line(os.path.join(train, "seq.out"), 3, b"O O")
        return "train/seq.out:3: 2 tags for"
    if kind == "malformed_tag":  # the caller wrote a right-length line ending in X-city
        return "train/seq.out:5: malformed tag 'X-city' (expected O, B-x or I-x)"
    if kind == "empty_utterance":
        _replace_line(os.path.join(d, "dev", "seq.in"), 4, b"  ")
        _replace_line(os.path.join(d, "dev", "seq.out"), 4, b"")
        return "dev/seq.in:4: empty utterance"
    if kind == "not_utf8":
        _replace_line(os.path.join(d, "test", "label"), 7, b"Play\xffMusic")
        return "test/label:7: not UTF-8 (byte 0xff)"
    if kind == "missing_file":
        os.remove(os.path.join(d, "test", "seq.out"))
        return "test/seq.out: file not found"
    if kind == "missing_vocab":
        os.remove(os.path.join(d, "slot_label.txt"))
        return "slot_label.txt: file not found"
    raise ValueError(kind)


@pytest.mark.parametrize("kind", ["line_counts", "tag_count", "malformed_tag", "empty_utterance",
                                  "not_utf8", "missing_file", "missing_vocab"])
def test_cli_rejects_bad_data_with_one_line_and_status_2(tmp_path, kind):
    data = write_tiny_dataset(str(tmp_path / "data"))
    if kind == "malformed_tag":
        with open(os.path.join(data, "train", "seq.in"), encoding="utf-8") as f:
            words = len(f.read().split("\n")[4].split())
        _replace_line(os.path.join(data, "train", "seq.out"), 5,
                      b"O " * (words - 1) + b"X-city")
    expected = _break(kind, data)
    output = tmp_path / "out"
    result = subprocess.run([sys.executable, TRAIN, "--data_dir", data, "--task", "snips",
                             "--output_dir", str(output)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and expected in lines[0], lines[0]
    assert "Traceback" not in result.stderr
    assert not output.exists()
    assert os.listdir(tmp_path) == ["data"]


def test_crlf_line_endings_are_accepted(tmp_path):
    data = write_tiny_dataset(str(tmp_path / "data"))
    plain = read_split(data, "dev")
    for name in ("seq.in", "seq.out", "label"):
        path = os.path.join(data, "dev", name)
        with open(path, "rb") as f:
            content = f.read()
        with open(path, "wb") as f:
            f.write(content.replace(b"\n", b"\r\n"))
    assert read_split(data, "dev") == plain


def test_atis_out_of_vocabulary_labels_are_counted_and_scored_as_errors(caplog):
    atis = os.path.join(REPO, "data", "atis")
    labels = LabelMaps.from_dir(atis)
    test = read_split(atis, "test")
    ids = labels.intent_ids(test, "atis/test")
    assert sum(i == labels.intents.index("UNK") for i in ids) == 5
    labels.slot_ids(test, "atis/test")
    assert "atis/test: 5 utterance(s) with an intent outside the vocabulary" in caplog.text
    assert "atis/test: 6 utterance(s) with a slot tag outside the vocabulary" in caplog.text
    assert len(test) == 893


def test_bad_vocabulary_lines_are_named(tmp_path):
    data = write_tiny_dataset(str(tmp_path / "data"))
    _append(os.path.join(data, "intent_label.txt"), b"PlayMusic\n")
    with pytest.raises(InputError, match=r"intent_label.txt:\d+: duplicate label 'PlayMusic'"):
        LabelMaps.from_dir(data)


def test_cli_refuses_unknown_training_intent_naming_count_line_and_closest(tmp_path):
    data = write_tiny_dataset(str(tmp_path / "data"))
    for number in (3, 9):
        _replace_line(os.path.join(data, "train", "label"), number, b"PlayMusik")
    output = tmp_path / "out"
    result = subprocess.run([sys.executable, TRAIN, "--data_dir", data, "--task", "snips",
                             "--output_dir", str(output)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"error: {data}/train/label:3: training intent 'PlayMusik' is not in the vocabulary "
        "(2 utterance(s) carry it; closest in the vocabulary: 'PlayMusic')"]
    assert not output.exists()


def test_unknown_tag_of_an_augmented_training_split_is_refused(tmp_path):
    data = write_tiny_dataset(str(tmp_path / "data"))
    shutil.copytree(os.path.join(data, "train"), os.path.join(data, "train_aug"))
    path = os.path.join(data, "train_aug", "seq.out")
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    number = next(i for i, line in enumerate(lines, 1) if "B-artist" in line.split())
    _replace_line(path, number, lines[number - 1].replace("B-artist", "B-artists").encode())
    _replace_line(os.path.join(data, "train_aug", "label"), 1, b"PlayMusic")  # a known intent
    expected = (f"{data}/train_aug/seq.out:{number}: training slot tag 'B-artists' is not in the "
                "vocabulary (1 utterance(s) carry it; closest in the vocabulary: 'B-artist')")
    with pytest.raises(InputError) as error:
        read_dataset(data, train_split="train_aug")
    assert str(error.value) == expected
    read_dataset(data)  # the plain train split is untouched


def test_unknown_labels_of_dev_and_test_stay_counted_warnings(tmp_path, caplog):
    data = write_tiny_dataset(str(tmp_path / "data"))
    _replace_line(os.path.join(data, "dev", "label"), 2, b"PlayMusik")
    labels, splits = read_dataset(data)
    ids = labels.intent_ids(splits["dev"], "tiny/dev")
    assert ids[1] == labels.intents.index("UNK")
    assert "tiny/dev: 1 utterance(s) with an intent outside the vocabulary" in caplog.text


def test_a_slot_label_outside_bio_names_its_line(tmp_path):
    """A model predicts only the tags of slot_label.txt: they follow the rule of the data's
    tags, so every prediction can be read into slot spans and scored."""
    data = write_tiny_dataset(str(tmp_path / "data"))
    _append(os.path.join(data, "slot_label.txt"), b"E-city\n")
    with open(os.path.join(data, "slot_label.txt"), encoding="utf-8") as f:
        line = f.read().splitlines().index("E-city") + 1
    with pytest.raises(InputError) as error:
        LabelMaps.from_dir(data)
    assert str(error.value) == (f"{os.path.join(data, 'slot_label.txt')}:{line}: malformed tag "
                                f"'E-city' (expected O, B-x or I-x)")
