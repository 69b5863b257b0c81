"""The teacher-output cache: the same training as the live teacher, reused on resume,
recomputed when incomplete or stale, skipped when too large."""

import dataclasses
import functools
import json
import logging
import os

import keras
import numpy as np
import pytest

from nlu_tf.data.features import encode_examples
from nlu_tf.data.reader import read_dataset
from nlu_tf.distill import teacher_cache_fill
from nlu_tf.distill.distiller import Distiller
from nlu_tf.distill.teacher_cache import MANIFEST, write_teacher_cache
from nlu_tf.distill.teacher_outputs import LENGTH
from nlu_tf.distill.teacher_cache_fill import cached_teacher
from nlu_tf.io_utils import work_dir
from nlu_tf.model_io.model_dir import load_model_dir
from nlu_tf.surgery.student import cut_from_teacher
from nlu_tf.training.objective_factory import make_objective
from nlu_tf.training.settings import DistillSettings, StudentSettings
from nlu_tf.training.stage import TEACHER_CACHE_DIR, run_stage


class _Interrupt(Exception):
    pass


class _Watch(keras.callbacks.Callback):
    """Records the cache manifest's mtime when the fit starts, and whether the fit runs."""

    def __init__(self, output_dir, phase):
        super().__init__()
        self.manifest = os.path.join(work_dir(output_dir), TEACHER_CACHE_DIR, MANIFEST)
        self.phase = phase
        self.mtime = None

    def on_train_begin(self, logs=None):
        self.phase["fit"] = True
        if os.path.isfile(self.manifest):
            self.mtime = os.stat(self.manifest).st_mtime_ns
            with open(self.manifest, encoding="utf-8") as f:
                self.keys = sorted(json.load(f)["shapes"])

    def on_train_end(self, logs=None):
        self.phase["fit"] = False


@pytest.fixture
def teacher_calls(monkeypatch):
    """Counts the teacher's forward passes traced while `fit` runs (not while filling)."""
    phase, calls = {"fit": False}, {"fit": 0}
    original = Distiller.teacher_forward

    def counted(self, inputs):
        if phase["fit"]:
            calls["fit"] += 1
        return original(self, inputs)

    monkeypatch.setattr(Distiller, "teacher_forward", counted)
    return phase, calls


def _student_weights(path):
    return [w.numpy().copy() for w in load_model_dir(path).model.weights]


STAGES = {
    "2.1_uniform": (dict(stage="2.1", student=StudentSettings(num_layers=1)),
                    ["attention_scores_1", "hidden_states_0", "hidden_states_2"]),
    "2.1_emd": (dict(stage="2.1", distill=DistillSettings(layer_mapping="emd", one_step=True),
                     student=StudentSettings(num_layers=1)),
                ["attention_scores_0", "attention_scores_1", "hidden_states_0",
                 "hidden_states_1", "hidden_states_2", "intent_logits", "slot_logits"]),
    "2.2": (dict(stage="2.2", distill=DistillSettings(alpha=0.3),
                 student=StudentSettings(num_layers=1)),
            ["intent_logits", "slot_logits"]),
}


@pytest.mark.parametrize("name", sorted(STAGES))
def test_cached_teacher_trains_like_the_live_teacher(name, tmp_path, settings_factory,
                                                     tiny_model_dir, teacher_calls):
    overrides, keys = STAGES[name]
    phase, calls = teacher_calls
    results = {}
    for cache in (False, True):
        output = str(tmp_path / f"cache_{cache}")
        watch = _Watch(output, phase)
        settings = settings_factory(output, tiny_model_dir, num_train_epochs=2,
                                    teacher_cache=cache, **overrides)
        before = calls["fit"]
        results[cache] = run_stage(settings, callbacks=[watch])
        traced = calls["fit"] - before
        if cache:
            assert watch.keys == keys
            assert traced == 0  # the step never ran the teacher
        else:
            assert watch.mtime is None and traced > 0
    np.testing.assert_allclose(results[True]["loss_history"], results[False]["loss_history"],
                               rtol=1e-5, atol=1e-6)
    for a, b in zip(_student_weights(str(tmp_path / "cache_True")),
                    _student_weights(str(tmp_path / "cache_False"))):
        np.testing.assert_allclose(a, b, atol=1e-5)
    assert not os.path.exists(work_dir(str(tmp_path / "cache_True")))  # removed at the end


def test_stage_of_one_epoch_runs_the_teacher_instead_of_filling(
        tmp_path, settings_factory, tiny_model_dir, teacher_calls, monkeypatch):
    # Filling reads every training example once: for one epoch or less it costs more than
    # the teacher passes it saves.
    phase, calls = teacher_calls
    fills = _count_fills(monkeypatch)
    watch = _Watch(str(tmp_path / "one"), phase)
    settings = settings_factory(str(tmp_path / "one"), tiny_model_dir, stage="2.1",
                                student=StudentSettings(num_layers=1),
                                num_train_epochs=1, teacher_cache=True)
    before = calls["fit"]
    run_stage(settings, callbacks=[watch])
    assert fills["count"] == 0 and watch.mtime is None
    assert calls["fit"] > before


def _zeros(shapes, inputs):
    batch, length = inputs["attention_mask"].shape
    return {name: np.zeros((batch,) + tuple(length if size == LENGTH else size for size in shape),
                           np.float32) for name, shape in shapes.items()}


def _count_fills(monkeypatch, run_teacher=True):
    """Counts the cache writes; with `run_teacher` False they write zeros instead of the
    teacher's outputs (for tests of when a cache is written, not of what it holds)."""
    fills = {"count": 0}
    original = teacher_cache_fill.write_teacher_cache

    def counted(folder, depends_on, shapes, lengths, batches, compute, progress=None):
        fills["count"] += 1
        if not run_teacher:
            compute = functools.partial(_zeros, shapes)
        return original(folder, depends_on, shapes, lengths, batches, compute, progress)

    monkeypatch.setattr(teacher_cache_fill, "write_teacher_cache", counted)
    return fills


def test_killed_run_reuses_its_complete_cache(
        tmp_path, settings_factory, tiny_model_dir, monkeypatch, teacher_calls):
    phase, _ = teacher_calls
    fills = _count_fills(monkeypatch)

    class KillAtStep(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if int(self.model.optimizer.iterations.numpy()) == 3:
                raise _Interrupt()

    settings = settings_factory(str(tmp_path / "run"), tiny_model_dir, stage="2.1",
                                student=StudentSettings(num_layers=1),
                                num_train_epochs=2, checkpoint_every=2)
    cache_dir = os.path.join(work_dir(settings.output_dir), TEACHER_CACHE_DIR)
    with pytest.raises(_Interrupt):
        run_stage(settings, callbacks=[KillAtStep()])
    assert fills["count"] == 1
    written = os.stat(os.path.join(cache_dir, MANIFEST)).st_mtime_ns
    watch = _Watch(settings.output_dir, phase)
    resumed = run_stage(settings, callbacks=[watch])
    assert resumed["resumed_from_step"] == 2
    assert fills["count"] == 1 and watch.mtime == written  # reused, not recomputed



@pytest.fixture
def tiny_distiller(tiny_model_dir, tiny_data_dir, settings_factory, tmp_path):
    """A stage-2.1 `Distiller` (uniform map, 1-layer student) and its training features."""
    teacher = load_model_dir(tiny_model_dir)
    student = cut_from_teacher(teacher, 1)
    settings = settings_factory(str(tmp_path / "out"), tiny_model_dir, stage="2.1",
                                student=StudentSettings(num_layers=1))
    objective = make_objective(settings, student, teacher).objective
    distiller = Distiller(student.model, objective, teacher.model)
    _, splits = read_dataset(tiny_data_dir)
    features = encode_examples(splits["train"], student.tokenizer, student.labels, 32)
    return distiller, features


def _fill(distiller, features, folder, max_gb=20.0):
    return cached_teacher(distiller, features, folder, "teacher", 32, 24, max_gb,
                          jit_compile=False, progress=False)


def test_cached_outputs_are_the_teachers_and_a_changed_teacher_or_data_recomputes(
        tiny_distiller, tmp_path, monkeypatch):
    from nlu_tf.data.dataset import pad_batch

    distiller, features = tiny_distiller
    fills = _count_fills(monkeypatch)
    folder = str(tmp_path / "cache")
    cache = _fill(distiller, features, folder)
    assert fills["count"] == 1 and len(cache) == len(features)
    indices = np.array([5, 0, 17, 63])
    inputs, _ = pad_batch(features, indices, 8, 32)
    length = inputs["input_ids"].shape[1]
    live = distiller.teacher_forward(inputs)
    cached = cache.padded(indices, length)
    mask = inputs["attention_mask"].astype(bool)
    pairs = mask[:, None, :, None] & mask[:, None, None, :]
    np.testing.assert_allclose(cached["hidden_states_2"][mask],
                               live["hidden_states"][2].numpy()[mask], atol=1e-5)
    np.testing.assert_allclose(np.where(pairs, cached["attention_scores_1"], 0),
                               np.where(pairs, live["attention_scores"][1].numpy(), 0),
                               atol=1e-5)
    assert _fill(distiller, features, folder) is not None and fills["count"] == 1  # reused
    compiled = cached_teacher(distiller, features, str(tmp_path / "xla"), "teacher", 32, 24,
                              20.0, jit_compile=True, progress=False)
    for name, values in compiled.padded(indices, length).items():
        np.testing.assert_allclose(values, cached[name], atol=1e-5)

    assert fills["count"] == 2  # a new folder: written
    fills = _count_fills(monkeypatch, run_teacher=False)  # from here on, when, not what
    ids = list(features.input_ids)
    ids[7] = ids[7].copy()
    ids[7][1] += 1
    changed = dataclasses.replace(features, input_ids=ids)
    _fill(distiller, changed, folder)
    assert fills["count"] == 1
    variable = distiller.teacher.weights[3]
    variable.assign(variable.numpy() + 1e-3)
    _fill(distiller, changed, folder)
    assert fills["count"] == 2
    _fill(distiller, changed, folder)
    assert fills["count"] == 2
    with open(os.path.join(folder, MANIFEST), "w", encoding="utf-8") as f:
        f.write("{broken")
    _fill(distiller, changed, folder)
    assert fills["count"] == 3


def test_a_fill_killed_midway_leaves_no_cache_and_is_computed_again(tiny_distiller, tmp_path,
                                                                    monkeypatch):
    distiller, features = tiny_distiller
    folder = str(tmp_path / "cache")
    original = teacher_cache_fill.write_teacher_cache

    def killed(folder, depends_on, shapes, lengths, batches, compute, progress=None):
        def compute_then_die(inputs, seen=[]):
            seen.append(1)
            if len(seen) == 2:
                raise _Interrupt()
            return compute(inputs)
        return original(folder, depends_on, shapes, lengths, batches, compute_then_die)

    monkeypatch.setattr(teacher_cache_fill, "write_teacher_cache", killed)
    with pytest.raises(_Interrupt):
        _fill(distiller, features, folder)
    assert os.listdir(tmp_path) == []
    # A process killed outright leaves its temporary folder; it is never read.
    leftover = tmp_path / ".cache.tmp-1-abc"
    leftover.mkdir()
    (leftover / "hidden_states_0.f32").write_bytes(b"\0" * 64)
    monkeypatch.setattr(teacher_cache_fill, "write_teacher_cache", original)
    fills = _count_fills(monkeypatch)
    assert _fill(distiller, features, folder) is not None and fills["count"] == 1
    assert os.path.isfile(os.path.join(folder, MANIFEST))


def test_a_cache_over_the_limit_is_not_written_and_logged(tiny_distiller, tmp_path, caplog):
    distiller, features = tiny_distiller
    folder = str(tmp_path / "cache")
    with caplog.at_level(logging.WARNING):
        assert _fill(distiller, features, folder, max_gb=1e-9) is None
    lines = [r.getMessage() for r in caplog.records if "not cached" in r.getMessage()]
    assert len(lines) == 1 and "over the limit" in lines[0], lines
    assert not os.path.exists(folder)
    assert _fill(distiller, features, folder, max_gb=1.0) is not None


def test_cache_settings_come_from_flags_and_recipes_and_never_make_runs_stale(tmp_path,
                                                                              tiny_model_dir):
    import shutil

    from absl import flags

    from nlu_cli.settings_flags import define_train_flags, settings_from_flags
    from nlu_tf.pipeline.recipe import load_recipe, stage_settings
    from nlu_tf.pipeline.stages import check_stage
    from nlu_tf.training.settings import RunSettings

    values = flags.FlagValues()
    define_train_flags(values)
    values(["train.py", "--noteacher_cache", "--teacher_cache_max_gb=2.5"])
    settings = settings_from_flags(values.flag_values_dict())
    assert settings.teacher_cache is False and settings.teacher_cache_max_gb == 2.5
    assert RunSettings().teacher_cache is True
    with pytest.raises(ValueError, match="teacher_cache_max_gb must be a finite number > 0"):
        RunSettings(teacher_cache_max_gb=0.0)

    recipe_file = tmp_path / "recipe.yaml"
    recipe_file.write_text("training:\n  teacher_cache: false\n")
    recipe = load_recipe(str(recipe_file), ["training.teacher_cache_max_gb=3"])
    stages = stage_settings(recipe, "bert")
    assert not stages["student_2.1"].teacher_cache
    assert stages["student_2.2"].teacher_cache_max_gb == 3.0

    # A stage finished before the cache settings existed is still complete.
    done = str(tmp_path / "done")
    shutil.copytree(tiny_model_dir, done)
    with open(os.path.join(done, "settings.json"), encoding="utf-8") as f:
        recorded = json.load(f)
    old = {k: v for k, v in recorded.items() if not k.startswith("teacher_cache")}
    with open(os.path.join(done, "settings.json"), "w", encoding="utf-8") as f:
        json.dump(old, f)
    expected = {**recorded, "teacher_cache": False, "teacher_cache_max_gb": 1.0}
    assert check_stage("teacher", done, expected) is None
    assert check_stage("teacher", done, {**expected, "seed": 99}) is not None


def _token_batches(lengths, plan):
    """(indices, inputs) pairs whose outputs are each token's example index and position."""
    for indices in plan:
        width = max(lengths[i] for i in indices)
        mask = np.array([[1] * lengths[i] + [0] * (width - lengths[i]) for i in indices])
        yield np.asarray(indices), {"attention_mask": mask, "index": np.asarray(indices)}


def _positions(inputs):
    rows, width = inputs["attention_mask"].shape
    return {"tokens": inputs["index"][:, None] * 100.0 + np.arange(width)[None, :]}


def test_the_writer_puts_batches_of_any_order_in_place_and_refuses_gaps_or_repeats(tmp_path):
    lengths = [3, 1, 4, 2]
    shapes = {"tokens": (LENGTH,)}
    cache = write_teacher_cache(str(tmp_path / "c"), {"k": 1}, shapes, lengths,
                                _token_batches(lengths, [[1, 3], [0, 2]]), _positions)
    rows = cache.padded(np.arange(4), 4)["tokens"]
    for index, length in enumerate(lengths):
        np.testing.assert_array_equal(rows[index, :length], index * 100 + np.arange(length))
    for plan, problem in (([[1, 3], [0]], "held 3 examples, expected 4"),
                          ([[1, 3], [0, 2], [2]], "not one of the 4 examples")):
        with pytest.raises(ValueError, match=problem):
            write_teacher_cache(str(tmp_path / "d"), {"k": 1}, shapes, lengths,
                                _token_batches(lengths, plan), _positions)
        assert not (tmp_path / "d").exists()
