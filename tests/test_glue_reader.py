"""Tests of nlu_tf.data.glue: the task table and the TSV reader, on tiny files written in
each task's exact GLUE layout (never the shared GLUE data)."""

import os

import pytest

from nlu_tf.data.glue import TASKS, find_task, glue_task, read_glue_split
from nlu_tf.data.glue import reader as glue_reader
from nlu_tf.data.text_lines import iter_lines
from nlu_tf.errors import InputError

MNLI_HEAD = ["index", "promptID", "pairID", "genre", "sentence1_binary_parse",
             "sentence2_binary_parse", "sentence1_parse", "sentence2_parse", "sentence1",
             "sentence2"]
# Per task: the header (None: CoLA has none) and how GLUE lays out one row (index i,
# sentence a, sentence b, label).
LAYOUTS = {
    "cola": (None, lambda i, a, b, y: ["gj04", y, "" if y == "1" else "*", a]),
    "sst-2": (["sentence", "label"], lambda i, a, b, y: [a + " ", y]),
    "mrpc": (["\ufeffQuality", "#1 ID", "#2 ID", "#1 String", "#2 String"],
             lambda i, a, b, y: [y, str(1000 + i), str(2000 + i), a, b]),
    "sts-b": (["index", "genre", "filename", "year", "old_index", "source1", "source2",
               "sentence1", "sentence2", "score"],
              lambda i, a, b, y: [str(i), "main-captions", "MSRvid", "2012test", f"{i:04d}",
                                  "none", "none", a, b, y]),
    "rte": (["index", "sentence1", "sentence2", "label"], lambda i, a, b, y: [str(i), a, b, y]),
    "qnli": (["index", "question", "sentence", "label"], lambda i, a, b, y: [str(i), a, b, y]),
    "qqp": (["id", "qid1", "qid2", "question1", "question2", "is_duplicate"],
            lambda i, a, b, y: [str(i), str(2 * i), str(2 * i + 1), a, b, y]),
    "mnli": (MNLI_HEAD + ["label1", "gold_label"],
             lambda i, a, b, y: [str(i), "31193", f"{i}n", "government", "( a )", "( b )",
                                 "(ROOT a)", "(ROOT b)", a, b, y, y]),
    "wnli": (["index", "sentence1", "sentence2", "label"], lambda i, a, b, y: [str(i), a, b, y]),
}
LAYOUTS["mnli-mm"] = LAYOUTS["mnli"]
# MNLI's dev files carry five annotator labels, so 16 columns against train's 12.
MNLI_DEV = (MNLI_HEAD + ["label1", "label2", "label3", "label4", "label5", "gold_label"],
            lambda i, a, b, y: LAYOUTS["mnli"][1](i, a, b, y)[:10] + [y] * 6)


def rows_for(task, count=3):
    """`count` (text_a, text_b, label) triples of `task`, labels cycling through its set."""
    labels = task.labels or ("0.000", "2.400", "5.000")
    return [(f"Sentence {i} says \"hi\".", f"Other {i}." if task.is_pair else None,
             labels[i % len(labels)]) for i in range(count)]


def write_split(root, key, split, rows, folder=True, raw_rows=None):
    """Writes one split of task `key` under `root/<GLUE folder>/` (or `root` itself)."""
    task = TASKS[key]
    header, layout = MNLI_DEV if key.startswith("mnli") and split == "dev" else LAYOUTS[key]
    directory = os.path.join(root, task.folder) if folder else root
    os.makedirs(directory, exist_ok=True)
    lines = [] if header is None else ["\t".join(header)]
    lines += ["\t".join(layout(i, a, b, y)) for i, (a, b, y) in enumerate(rows)]
    lines += raw_rows or []
    path = os.path.join(directory, task.split_file(split))
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("\n".join(lines) + "\n")
    return path


def as_triples(examples):
    return [(e.text_a, e.text_b, e.label) for e in examples]


def expected(task, rows):
    text = (lambda a: a + " ") if task.key == "sst-2" else (lambda a: a)
    return [(text(a), b, float(y) if task.is_regression else y) for a, b, y in rows]


@pytest.mark.parametrize("key", sorted(TASKS))
def test_every_task_reads_its_glue_layout_from_root_and_from_task_folder(tmp_path, key):
    task = TASKS[key]
    for split, count in (("train", 4), ("dev", 3)):
        rows = rows_for(task, count)
        write_split(str(tmp_path / "glue"), key, split, rows)
        write_split(str(tmp_path / "alone"), key, split, rows, folder=False)
        from_root = read_glue_split(str(tmp_path / "glue"), key.upper(), split)
        assert as_triples(from_root) == expected(task, rows)
        # The first row sits on line 2 below a header, on line 1 without.
        assert [e.line for e in from_root] == [i + 1 + task.header for i in range(count)]
        assert read_glue_split(str(tmp_path / "alone"), task, split) == from_root
    names = os.listdir(tmp_path / "glue" / task.folder)
    assert task.dev_file in names and "train.tsv" in names


def test_task_keys_ignore_case_and_unknown_names_are_refused():
    assert set(TASKS) == {"cola", "sst-2", "mrpc", "sts-b", "rte", "qnli", "qqp", "mnli",
                          "mnli-mm", "wnli"}
    assert find_task("SST-2") is TASKS["sst-2"] and glue_task("Sts-B") is TASKS["sts-b"]
    assert find_task("snips") is None
    with pytest.raises(InputError, match=r"^--task_name: unknown GLUE task 'mrcp' \(one of cola,"):
        glue_task("mrcp")


def test_task_table_labels_files_and_metrics_follow_bert_emd():
    assert TASKS["mnli"].labels == ("contradiction", "entailment", "neutral")
    assert TASKS["rte"].labels == TASKS["qnli"].labels == ("entailment", "not_entailment")
    assert TASKS["sts-b"].labels is None and TASKS["sts-b"].num_labels == 1
    assert (TASKS["mnli"].dev_file, TASKS["mnli-mm"].dev_file) == ("dev_matched.tsv",
                                                                    "dev_mismatched.tsv")
    assert TASKS["mnli-mm"].folder == "MNLI" and TASKS["mrpc"].split_file("train_aug") == "train_aug.tsv"
    assert {k: t.selection for k, t in TASKS.items() if t.selection != "acc"} == {
        "cola": "mcc", "sts-b": "corr"}
    assert TASKS["mrpc"].metrics == TASKS["qqp"].metrics == ("acc", "f1", "acc_and_f1")
    assert [k for k, t in TASKS.items() if not t.is_pair] == ["cola", "sst-2"]


def test_bom_crlf_quotes_and_no_final_newline_are_read_as_glue_writes_them(tmp_path):
    directory = tmp_path / "CoLA"
    directory.mkdir()
    # A BOM before a header-less first row, CRLF endings, a last line without newline,
    # and an unbalanced quote: csv quoting would swallow the next row, GLUE's has none.
    (directory / "dev.tsv").write_bytes(
        b'\xef\xbb\xbfgj04\t1\t\tHe said "go.\r\nclc95\t0\t*\tThe "x" left "\r\nr67\t1\t\tOk.')
    examples = read_glue_split(str(tmp_path), "cola", "dev")
    assert as_triples(examples) == [('He said "go.', None, "1"), ('The "x" left "', None, "0"),
                                    ("Ok.", None, "1")]
    assert [e.line for e in examples] == [1, 2, 3]


def _replace(path, number, text):
    """Replaces line `number` (1-based) of `path` with the bytes `text`."""
    with open(path, "rb") as f:
        lines = f.read().split(b"\n")
    lines[number - 1] = text
    with open(path, "wb") as f:
        f.write(b"\n".join(lines))


# (task, split, line to replace, new bytes, expected message after the file name)
BROKEN = {
    "columns_pair": ("mrpc", "dev", 3, b"1\t11\t12\tonly one sentence", ":3: 4 column(s), expected 5"),
    "columns_cola": ("cola", "train", 2, b"gj04\t1\tno mark column", ":2: 3 column(s), expected 4"),
    "columns_mnli_dev": ("mnli", "dev", 2, b"\t".join([b"x"] * 12),
                         ":2: 12 column(s), expected 16"),
    "label": ("rte", "train", 4, b"3\tA cat.\tAn animal.\tentails",
              ":4: label 'entails' is not one of 'entailment', 'not_entailment'"),
    "label_space": ("sst-2", "dev", 2, b"fine . \t1 ", ":2: label '1 ' is not one of '0', '1'"),
    "score_text": ("sts-b", "dev", 3, b"1\tg\tf\ty\t0001\tn\tn\tA.\tB.\thigh",
                   ":3: score 'high' is not a number"),
    "score_nan": ("sts-b", "train", 2, b"0\tg\tf\ty\t0001\tn\tn\tA.\tB.\tnan",
                  ":2: score 'nan' is not a number"),
    "score_range": ("sts-b", "dev", 4, b"2\tg\tf\ty\t0001\tn\tn\tA.\tB.\t5.001",
                    ":4: score '5.001' is outside [0, 5]"),
    "score_negative": ("sts-b", "dev", 2, b"0\tg\tf\ty\t0001\tn\tn\tA.\tB.\t-0.5",
                       ":2: score '-0.5' is outside [0, 5]"),
    "empty_text": ("qnli", "dev", 3, b"1\t \tA sentence.\tentailment", ":3: empty text in column 2"),
    "empty_line": ("wnli", "train", 3, b"", ":3: empty line"),
    "not_utf8": ("qqp", "train", 2, b"0\t0\t1\tWhy\xff?\tHow?\t0", ":2: not UTF-8 (byte 0xff)"),
}


@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_malformed_rows_are_named_by_file_line_and_problem(tmp_path, kind):
    key, split, number, text, message = BROKEN[kind]
    path = write_split(str(tmp_path), key, split, rows_for(TASKS[key], 4))
    _replace(path, number, text)
    with pytest.raises(InputError) as error:
        read_glue_split(str(tmp_path), key, split)
    assert str(error.value) == path + message


def test_missing_file_and_missing_folder_are_named(tmp_path):
    write_split(str(tmp_path), "mrpc", "train", rows_for(TASKS["mrpc"]))
    with pytest.raises(InputError) as error:
        read_glue_split(str(tmp_path), "mrpc", "dev")
    assert str(error.value) == (f"{tmp_path}/MRPC/dev.tsv: file not found (MRPC dev split; "
                                "--data_dir is the GLUE root or its MRPC folder)")
    os.makedirs(tmp_path / "MNLI")
    with pytest.raises(InputError, match=r"/MNLI/dev_mismatched.tsv: file not found"):
        read_glue_split(str(tmp_path), "MNLI-MM", "dev")
    with pytest.raises(InputError, match=r"/nowhere: data directory not found$"):
        read_glue_split(str(tmp_path / "nowhere"), "mrpc", "dev")


def test_a_file_of_another_task_or_an_empty_file_is_refused_at_the_header(tmp_path):
    sst = write_split(str(tmp_path / "sst"), "sst-2", "dev", rows_for(TASKS["sst-2"]), folder=False)
    with pytest.raises(InputError) as error:
        read_glue_split(str(tmp_path / "sst"), "mrpc", "dev")
    assert str(error.value) == f"{sst}:1: header has 2 column(s); MRPC reads column 5"
    # MNLI's label is the last column: ten columns would make it sentence2.
    path = write_split(str(tmp_path / "mnli"), "mnli", "train", [])
    _replace(path, 1, "\t".join(MNLI_HEAD).encode())
    with pytest.raises(InputError, match=r":1: header has 10 column\(s\); MNLI reads column 11$"):
        read_glue_split(str(tmp_path / "mnli"), "mnli", "train")
    open(os.path.join(tmp_path, "sst", "train.tsv"), "wb").close()
    with pytest.raises(InputError, match=r"/train.tsv: empty file \(expected a header line\)$"):
        read_glue_split(str(tmp_path / "sst"), "sst-2", "train")


def test_a_header_only_file_has_no_examples(tmp_path):
    write_split(str(tmp_path), "rte", "dev", [])
    assert read_glue_split(str(tmp_path), "rte", "dev") == []


def test_hostile_values_are_quoted_short_on_one_line(tmp_path):
    path = write_split(str(tmp_path), "mrpc", "dev", rows_for(TASKS["mrpc"]))
    _replace(path, 2, b"\x1b[31m" + b"y" * 5000 + b"\t1\t2\tA.\tB.")
    with pytest.raises(InputError) as error:
        read_glue_split(str(tmp_path), "mrpc", "dev")
    message = str(error.value)
    assert message.startswith(f"{path}:2: label '\\x1b[31myyy") and "..." in message
    assert "\n" not in message and "\x1b" not in message and len(message) < len(path) + 160


def test_overlong_lines_are_refused_before_they_are_held(tmp_path, monkeypatch):
    monkeypatch.setattr(glue_reader, "MAX_LINE_BYTES", 64)
    path = write_split(str(tmp_path), "sst-2", "train", [("a" * 60, None, "1")])
    assert as_triples(read_glue_split(str(tmp_path), "sst-2", "train")) == [("a" * 60 + " ", None, "1")]
    _replace(path, 2, b"a" * 80 + b"\t1")
    with pytest.raises(InputError) as error:
        read_glue_split(str(tmp_path), "sst-2", "train")
    assert str(error.value) == f"{path}:2: line longer than 64 bytes"


def test_bounded_lines_keep_crlf_and_count_content_bytes_only(tmp_path):
    path = tmp_path / "lines.txt"
    path.write_bytes(b"\xef\xbb\xbfabcd\r\n" + b"x" * 8 + b"\r\n" + b"y" * 8)
    assert list(iter_lines(str(path), max_line_bytes=8)) == ["abcd", "x" * 8, "y" * 8]
    assert list(iter_lines(str(path))) == ["abcd", "x" * 8, "y" * 8]
    path.write_bytes(b"ok\n" + b"z" * 9 + b"\n")
    with pytest.raises(InputError, match=r"lines.txt:2: line longer than 8 bytes$"):
        list(iter_lines(str(path), max_line_bytes=8))
    path.write_bytes(b"z" * 9)  # no newline at all: still stopped
    with pytest.raises(InputError, match=r"lines.txt:1: line longer than 8 bytes$"):
        list(iter_lines(str(path), max_line_bytes=8))
