"""Several teachers (`extra_teachers`): the student learns from the mean of their logits,
stage 2.1 from the first one's layers; teachers that read other ids or predict other
labels are refused."""

import dataclasses
import os
import shutil

import numpy as np
import pytest

from nlu_cli.settings_flags import settings_from_flags
from nlu_tf.data.features import encode_examples
from nlu_tf.data.reader import read_dataset
from nlu_tf.distill.teacher_cache_fill import _teacher_digest
from nlu_tf.errors import InputError
from nlu_tf.model_io.model_dir import load_model_dir
from nlu_tf.distill.teacher_ensemble import TeacherEnsemble, check_members
from nlu_tf.training.settings import RunSettings, StudentSettings, comparable_settings
from nlu_tf.training.stage import _models, run_stage
from nlu_tf.training.task_data import task_data


@pytest.fixture(scope="module")
def second_teacher(tmp_path_factory, tiny_bert_dir, tiny_data_dir):
    """The tiny teacher fine-tuned again at another seed: other logits, same labels."""
    from tests.conftest import tiny_settings

    output = str(tmp_path_factory.mktemp("second_teacher") / "teacher")
    run_stage(tiny_settings(tiny_data_dir, output, tiny_bert_dir, seed=2))
    return output


def _batch(bundle, data_dir, count=8):
    train = read_dataset(data_dir)[1]["train"][:count]
    features = encode_examples(train, bundle.tokenizer, bundle.labels, bundle.max_seq_len)
    length = int(max(features.lengths))
    ids = np.zeros((count, length), np.int32)
    for row, piece in enumerate(features.input_ids):
        ids[row, :len(piece)] = piece
    mask = (np.arange(length)[None, :] < np.asarray(features.lengths)[:, None]).astype(np.int32)
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}


def test_the_ensemble_averages_the_logits_and_keeps_the_first_teachers_layers(
        tiny_model_dir, second_teacher, tiny_data_dir):
    first, second = load_model_dir(tiny_model_dir), load_model_dir(second_teacher)
    inputs = _batch(first, tiny_data_dir)
    one, two = first.model(inputs), second.model(inputs)
    both = TeacherEnsemble([first.model, second.model])(inputs)
    for name in ("intent_logits", "slot_logits"):
        assert not np.allclose(one[name], two[name])  # the teachers differ
        np.testing.assert_allclose(both[name], (np.asarray(one[name]) + np.asarray(two[name]))
                                   / 2, rtol=1e-5, atol=1e-5)
    for name in ("hidden_states", "attention_scores"):
        for mine, firsts in zip(both[name], one[name]):
            np.testing.assert_allclose(mine, firsts, rtol=1e-5, atol=1e-5)
    ensemble = TeacherEnsemble([first.model, second.model])
    assert ensemble.encoder is first.model.encoder
    # The teacher-output cache's fingerprint hashes every member's weights.
    assert len(ensemble.weights) == len(first.model.weights) + len(second.model.weights)
    assert _teacher_digest(ensemble) != _teacher_digest(first.model)
    assert (ensemble.num_intents, ensemble.num_slots) == (first.model.num_intents,
                                                          first.model.num_slots)


def test_a_stage_reads_the_ensemble_and_cuts_the_student_from_the_first_teacher(
        tmp_path, settings_factory, tiny_model_dir, second_teacher):
    settings = settings_factory(str(tmp_path / "s"), tiny_model_dir, stage="2.2",
                                student=StudentSettings(num_layers=1),
                                extra_teachers=(second_teacher,))
    data = task_data(settings)
    student, teacher = _models(settings, data)
    assert isinstance(teacher.model, TeacherEnsemble)
    assert len(teacher.model.members) == 2
    assert student.model.encoder.num_layers == 1
    plain, _ = _models(dataclasses.replace(settings, extra_teachers=()), data)
    for mine, theirs in zip(student.model.weights, plain.model.weights):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())


def test_stage_2_2_learns_from_the_mean_of_the_teachers(
        tmp_path, settings_factory, tiny_model_dir, second_teacher):
    """With the same teacher twice the student trains exactly as with it once; with another
    teacher beside it, it trains to other weights."""
    def trained(name, extra):
        settings = settings_factory(str(tmp_path / name), tiny_model_dir, stage="2.2",
                                    num_train_epochs=1, head_dropout=0.0,
                                    student=StudentSettings(num_layers=1),
                                    extra_teachers=extra)
        run_stage(settings)
        return [w.numpy() for w in load_model_dir(settings.output_dir).model.weights]

    alone, twice = trained("alone", ()), trained("twice", (tiny_model_dir,))
    mixed = trained("mixed", (second_teacher,))
    for a, b in zip(alone, twice):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert any(not np.allclose(a, m, atol=1e-6) for a, m in zip(alone, mixed))


def _copy_with(tmp_path, source, name, edit):
    target = str(tmp_path / name)
    shutil.copytree(source, target)
    path = os.path.join(target, edit[0])
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(edit[1](lines)) + "\n")
    return target


@pytest.mark.parametrize("edit, words", [
    (("intent_label.txt", lambda lines: lines[1:2] + lines[:1] + lines[2:]), "labels"),
    (("slot_label.txt", lambda lines: lines[:-1] + ["B-renamed"]), "labels"),
    (("vocab.txt", lambda lines: lines[:-1] + ["renamedpiece"]), "vocabulary"),
])
def test_a_teacher_with_other_labels_or_ids_is_refused_by_name(tmp_path, tiny_model_dir, edit,
                                                                words):
    other = _copy_with(tmp_path, tiny_model_dir, "other", edit)
    with pytest.raises(InputError) as error:
        check_members(load_model_dir(tiny_model_dir), [load_model_dir(other)], [other])
    assert other in str(error.value) and words in str(error.value)


def test_the_settings_check_and_compare_extra_teachers(tmp_path):
    with pytest.raises(ValueError, match="stages 2.1 and 2.2"):
        RunSettings(stage="2.0", extra_teachers=("t2",))
    with pytest.raises(ValueError, match="tuple of model directories"):
        RunSettings(stage="2.2", extra_teachers=("",))
    plain = RunSettings(stage="2.2").to_dict()
    assert "extra_teachers" in plain
    written_before = {k: v for k, v in plain.items() if k != "extra_teachers"}
    assert comparable_settings(plain) == comparable_settings(written_before)
    assert (comparable_settings(RunSettings(stage="2.2", extra_teachers=("t2",)).to_dict())
            != comparable_settings(plain))


def test_the_flag_reaches_the_settings():
    from absl import flags

    from nlu_cli.settings_flags import define_train_flags

    values = flags.FlagValues()
    define_train_flags(values)
    values(["prog", "--stage", "2.2", "--teacher_model", "t1", "--extra_teacher", "t2",
            "--extra_teacher", "t3"])
    assert settings_from_flags(values.flag_values_dict()).extra_teachers == ("t2", "t3")
