"""Filling a trimmed vocabulary to a size with a corpus's most used pieces: the choice, the
model-directory command, and stage 2.1's new student (`trim_corpus`, `trim_vocab_size`)."""

import collections
import os

import pytest

from nlu_tf.data.reader import read_split
from nlu_tf.data.tokenizer import WordPieceTokenizer
from nlu_tf.errors import InputError
from nlu_tf.export.trim_model_dir import TRIM_FILE, trim_model_dir
from nlu_tf.io_utils import read_json_object
from nlu_tf.surgery.vocab_trim import (count_corpora, count_pieces, fill_vocabulary, plan_trim,
                                      select_tokens)
from tests.tiny import REPO


def _vocab_corpus(path, model_dir):
    """Writes a corpus of the whole-word pieces of `model_dir`'s vocabulary, the later ones
    more often; returns its path."""
    words = [token for token in _read_vocab(model_dir)
             if len(token) > 1 and token.isalpha()]
    lines = [" ".join(words[i:]) for i in range(0, len(words), 7)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def _read_vocab(path):
    with open(os.path.join(path, "vocab.txt"), encoding="utf-8") as f:
        return f.read().splitlines()


def test_fill_takes_the_most_counted_pieces_in_vocabulary_order():
    vocab = ["[PAD]", "[UNK]", "[unused0]", "a", "##a", "b", "ab", "ba", "##ab", "bab", "ab"]
    kept = ["[PAD]", "[UNK]", "a", "##a"]
    counts = collections.Counter({"bab": 5, "ba": 2, "##ab": 2, "ab": 1, "a": 9,
                                  "[unused0]": 50, "zz": 40, "b": 0})
    # "bab" (5), then "ba" and "##ab" (2 each, ba first in the vocabulary).
    assert fill_vocabulary(vocab, kept, counts, 6) == ["[PAD]", "[UNK]", "a", "##a", "ba", "bab"]
    assert fill_vocabulary(vocab, kept, counts, 7) == ["[PAD]", "[UNK]", "a", "##a", "ba",
                                                       "##ab", "bab"]
    # More room than counted pieces: every counted piece once (the repeated "ab" too).
    assert fill_vocabulary(vocab, kept, counts, 20) == ["[PAD]", "[UNK]", "a", "##a", "ab",
                                                        "ba", "##ab", "bab"]
    assert fill_vocabulary(vocab, kept, counts, 4) == kept
    with pytest.raises(ValueError, match="vocab_size 3 is below the 4 tokens"):
        fill_vocabulary(vocab, kept, counts, 3)


def test_plan_ranks_the_fill_by_the_corpus_not_by_min_count(export_model_dir, tiny_data_dir,
                                                            tmp_path):
    tokenizer = WordPieceTokenizer.from_model_dir(export_model_dir)
    corpus = _vocab_corpus(tmp_path / "corpus.txt", export_model_dir)
    base, _ = plan_trim(tokenizer, [(tiny_data_dir, "train")], min_count=2)
    counted, _ = plan_trim(tokenizer, [(tiny_data_dir, "train")], [corpus], min_count=2)
    corpus_counts = collections.Counter()
    count_corpora(tokenizer, [corpus], corpus_counts)
    new = [token for token in corpus_counts if token not in base]
    assert new and set(counted) == set(base) | set(new)
    size = len(base) + 1
    kept, summary = plan_trim(tokenizer, [(tiny_data_dir, "train")], [corpus],
                              min_count=2, vocab_size=size)
    best = max(new, key=lambda token: (corpus_counts[token], -tokenizer.token_to_id(token)))
    assert kept == [token for token in tokenizer.vocab if token in set(base) | {best}]
    assert summary["vocab_size"] == size == summary["fill_to_vocab_size"]
    assert summary["kept"]["corpus_fill"] == 1
    assert [source["kind"] for source in summary["sources"]] == ["data", "corpus"]


def test_command_fills_to_the_size_and_refuses_what_cannot_be(export_model_dir, tiny_data_dir,
                                                              tmp_path):
    corpus = _vocab_corpus(tmp_path / "corpus.txt", export_model_dir)
    data = [(tiny_data_dir, "train")]
    base = trim_model_dir(export_model_dir, str(tmp_path / "base"), data)
    size = base["vocab_size"] + 2
    out = str(tmp_path / "filled")
    summary = trim_model_dir(export_model_dir, out, data, [corpus], vocab_size=size)
    assert len(_read_vocab(out)) == size == summary["vocab_size"]
    assert read_json_object(os.path.join(out, TRIM_FILE))["kept"]["corpus_fill"] == 2
    for corpora, vocab_size, problem in [([], size, "give --corpus"),
                                         ([corpus], -1, "must be 0 or more, got -1"),
                                         ([corpus], base["vocab_size"] - 1,
                                          f"vocab_size {base['vocab_size'] - 1} is below")]:
        with pytest.raises(InputError, match=problem):
            trim_model_dir(export_model_dir, str(tmp_path / "no"), data, corpora,
                           vocab_size=vocab_size)
    assert not (tmp_path / "no").exists()


def test_stage_2_1_fills_its_trimmed_student_from_the_corpus(tiny_model_dir, tiny_data_dir,
                                                            settings_factory, tmp_path):
    from nlu_tf.training.settings import StudentSettings, TrimSettings
    from nlu_tf.training.stage import run_stage

    corpus = _vocab_corpus(tmp_path / "corpus.txt", tiny_model_dir)
    teacher = WordPieceTokenizer.from_model_dir(tiny_model_dir)
    counts, fill = collections.Counter(), collections.Counter()
    count_pieces(teacher, (e.words for e in read_split(tiny_data_dir, "train")), counts)
    count_corpora(teacher, [corpus], fill)
    base, _ = select_tokens(teacher.vocab, counts, 1, "latin")
    expected = fill_vocabulary(teacher.vocab, base, fill, len(base) + 3)
    assert len(expected) == len(base) + 3

    def settings(name, **trim):
        trim = TrimSettings(**{"enabled": True, "fallback_characters": "latin", **trim})
        return settings_factory(str(tmp_path / name), tiny_model_dir, stage="2.1",
                                num_train_epochs=1, trim=trim,
                                student=StudentSettings(num_layers=1))

    first = settings("filled", corpus=(corpus,), vocab_size=len(expected))
    run_stage(first)
    assert _read_vocab(first.output_dir) == expected
    with pytest.raises(InputError, match=r"^--trim_vocab_size: vocab_size 5 is below"):
        run_stage(settings("small", corpus=(corpus,), vocab_size=5))
    with pytest.raises(InputError, match="corpus file not found"):
        run_stage(settings("missing", corpus=(str(tmp_path / "nope.txt"),)))
    for changes, problem in [({"vocab_size": 40}, "fills the vocabulary from trim_corpus"),
                             ({"enabled": False, "corpus": (corpus,)},
                              "trim_corpus goes with trim_vocab"),
                             ({"corpus": [corpus]}, "tuple of file paths")]:
        with pytest.raises(ValueError, match=problem):
            settings("bad", **changes)
    assert not any((tmp_path / name).exists() for name in ("small", "missing", "bad"))


def test_settings_of_runs_before_the_fill_still_compare_equal(tmp_path):
    import json

    from nlu_tf.training.settings import RunSettings, TrimSettings, comparable_settings

    now = RunSettings(output_dir=str(tmp_path / "out")).to_dict()
    old = {**now, "trim": {k: v for k, v in now["trim"].items()
                           if k not in ("corpus", "vocab_size")}}
    assert comparable_settings(old) == comparable_settings(now)
    filled = RunSettings(stage="2.1", output_dir=str(tmp_path / "out"),
                         trim=TrimSettings(enabled=True, corpus=("a.txt",),
                                           vocab_size=100)).to_dict()
    # Written as JSON (the tuple becomes a list) and read back: the same settings.
    assert comparable_settings(json.loads(json.dumps(filled))) == comparable_settings(filled)
    assert comparable_settings({**filled, "trim": {**filled["trim"], "corpus": ["b.txt"]}}) \
        != comparable_settings(filled)


def test_recipe_keys_reach_stage_2_1():
    from nlu_tf.pipeline.recipe import load_recipe, stage_settings

    tiny = os.path.join(REPO, "configs", "tiny.yaml")
    recipe = load_recipe(tiny, ["student.trim_vocab=true", "student.trim_corpus=[a.txt,b.txt]",
                                "student.trim_vocab_size=900"])
    first = stage_settings(recipe, "bert")["student_2.1"]
    assert (first.trim.corpus, first.trim.vocab_size) == (("a.txt", "b.txt"), 900)
    with pytest.raises(InputError, match="student_2.1: trim_vocab_size fills"):
        stage_settings(load_recipe(tiny, ["student.trim_vocab=true",
                                          "student.trim_vocab_size=900"]), "bert")


def test_export_stage_fills_the_trimmed_student_from_its_corpus(export_model_dir,
                                                                tiny_data_dir, tmp_path):
    from nlu_tf.pipeline import orchestrator
    from nlu_tf.pipeline.recipe import load_recipe

    tiny = os.path.join(REPO, "configs", "tiny.yaml")
    corpus = _vocab_corpus(tmp_path / "corpus.txt", export_model_dir)
    base = trim_model_dir(export_model_dir, str(tmp_path / "base"),
                          [(tiny_data_dir, "train")], share_rows=True)
    size = base["vocab_size"] + 3
    recipe = load_recipe(tiny, [f"data.data_dir={tiny_data_dir}", "export.quantizations=[dynamic]",
                                "export.trim_vocab=true", "export.trim_share_rows=true",
                                f"export.trim_corpus=[{corpus}]",
                                f"export.trim_vocab_size={size}"],
                         output_dir=str(tmp_path / "run"))
    expected = {"export": {"export": recipe["export"], "data": recipe["data"],
                           "seed": recipe["seed"],
                           "models": {"teacher": export_model_dir, "student": export_model_dir}}}
    path = str(tmp_path / "run" / "export")
    orchestrator._export(recipe, expected, path)
    summary = read_json_object(os.path.join(path, "student_trimmed", TRIM_FILE))
    assert summary["vocab_size"] == size and summary["kept"]["corpus_fill"] == 3
    assert summary["share_rows"] is True
    # Shared rows: the exported file keeps the whole vocabulary.
    assert _read_vocab(os.path.join(path, "student", "tflite_dynamic")) == \
        _read_vocab(export_model_dir)
    for overrides, problem in [
            ([f"export.trim_corpus=[{corpus}]"], "export: trim_corpus goes with trim_vocab"),
            (["export.trim_vocab_size=50"], "export: trim_vocab_size goes with"),
            (["export.trim_vocab=true", "export.trim_vocab_size=50"],
             "export: trim_vocab_size fills the vocabulary from trim_corpus"),
            (["export.trim_vocab=true", "export.trim_min_count=0"],
             "export: trim_min_count must be >= 1")]:
        with pytest.raises(InputError, match=problem):
            load_recipe(tiny, overrides)
