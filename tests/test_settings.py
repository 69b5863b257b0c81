"""A setting is declared once (#46 item 3): the flags, the recipe defaults and the reading
of stored settings are derived from the settings dataclasses, and change nothing a user or
a run folder written before can see (tests/fixtures/settings_before/, written by the code
before the change)."""

import dataclasses
import glob
import json
import os
import re
import subprocess
import sys

import pytest
from absl import flags

from nlu_cli.settings_flags import (AUGMENT_FLAGS, GENERAL_FLAGS, PREGENERATE_FLAGS,
                                    define_precision_flags, define_settings_flags,
                                    define_train_flags, settings_from_flags)
from nlu_tf.augment.augmenter import AugmentSettings
from nlu_tf.errors import InputError
from nlu_tf.pipeline.recipe import DEFAULTS, load_recipe, settings_dicts, stage_settings
from nlu_tf.pretraining.settings import GeneralDistillSettings, PregenerateSettings
from nlu_tf.training.setting_fields import (NO_FLAG, build, compared_values, from_flags,
                                            from_stored, leaves, section, setting)
from nlu_tf.training.settings import (RunSettings, StudentSettings, TrimSettings,
                                      comparable_settings, same_run)
from tests.tiny import REPO

BEFORE = os.path.join(REPO, "tests", "fixtures", "settings_before")
RUN = os.path.join(BEFORE, "run")


def _read(*parts):
    with open(os.path.join(*parts), encoding="utf-8") as f:
        return json.load(f)


def _flags(define):
    values = flags.FlagValues()
    define(values)
    return {name: {"type": flag.flag_type(), "default": flag.default, "help": flag.help,
                   "enum_values": getattr(flag.parser, "enum_values", None),
                   "short_name": flag.short_name, "boolean": flag.boolean}
            for name, flag in values._flags().items() if name == flag.name}


@pytest.mark.parametrize("name, define", [
    ("nlu-train", define_train_flags),
    ("precision", lambda values: define_precision_flags(flag_values=values)),
    ("teacher_cache", lambda values: define_settings_flags(
        RunSettings, values, only=("teacher_cache", "teacher_cache_max_gb")))])
def test_the_derived_flags_are_those_the_hand_written_ones_were(name, define):
    # Every flag name, type, default, help and choice of `nlu-train --helpfull`.
    assert json.loads(json.dumps(_flags(define))) == _read(BEFORE, "flags.json")[name]


def test_every_setting_is_documented_and_has_at_most_one_flag():
    settings = list(leaves(RunSettings))
    assert all(leaf.field.metadata["help"].strip() for leaf in settings)
    named = [leaf.flag for leaf in settings if leaf.flag]
    assert len(named) == len(set(named))
    assert {".".join(leaf.path) for leaf in settings if leaf.flag == NO_FLAG} == {
        "verbose", "data.bucket_width", "data.train_split", "optimizer.adam_epsilon"}


def test_flags_reach_the_nested_settings():
    values = flags.FlagValues()
    define_train_flags(values)
    values(["train.py", "--stage=2.1", "--student_num_layers=2", "--intermediate_size=16",
            "--embedding_size=8", "--trim_vocab", "--trim_min_count=3",
            "--trim_corpus=a.txt", "--trim_corpus=b.txt", "--trim_vocab_size=900",
            "--extra_teacher=t2", "--max_grad_norm=0.5", "--dropout_rate=0.2",
            "--emd_one_step", "--aug_train", "--nojit_compile"])
    settings = settings_from_flags(values.flag_values_dict())
    assert settings.student == StudentSettings(num_layers=2, intermediate_size=16,
                                               embedding_size=8)
    assert settings.trim == TrimSettings(enabled=True, min_count=3, corpus=("a.txt", "b.txt"),
                                         vocab_size=900)
    assert (settings.extra_teachers, settings.optimizer.clip_norm, settings.head_dropout,
            settings.distill.one_step, settings.data.train_split, settings.jit_compile) == (
        ("t2",), 0.5, 0.2, True, "train_aug", False)
    values = flags.FlagValues()
    define_train_flags(values)
    values(["train.py", "--pred_distill", "--weight_bits=4"])
    settings = settings_from_flags(values.flag_values_dict())
    assert (settings.stage, settings.student.weight_bits, settings.jit_compile) == (
        "2.2", 4, "auto")
    assert settings_from_flags(_defaults()) == RunSettings()


def _defaults():
    values = flags.FlagValues()
    define_train_flags(values)
    values(["train.py"])
    return values.flag_values_dict()


# The other commands that build settings: a command line of before setting every flag and
# the settings it built (tests/command_flags.py, run on the code before).
COMMANDS = _read(BEFORE, "command_settings.json")


@pytest.fixture(scope="module")
def commands():
    """What each command module defines now, and builds from the command line of before."""
    lines = {module: case["argv"] for module, case in COMMANDS["command_lines"].items()}
    result = subprocess.run([sys.executable, "-m", "tests.command_flags"], cwd=REPO,
                            input=json.dumps(lines), capture_output=True, text=True,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"), timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


# Flags a command gained since the fixture was written: a user's old command line still
# means the same (the test below builds it), they only add a choice.
ADDED = {"nlu_cli.emd_task_distill": {"mixed_precision", "jit_compile"}}


def test_the_commands_keep_every_flag_and_command_line(commands):
    for module, before in _read(BEFORE, "commands.json").items():
        now = commands[module]["flags"]
        added = ADDED.get(module, set())
        assert set(now) - set(before) == added, module
        now = {name: flag for name, flag in now.items() if name not in added}
        if module == "nlu_cli.emd_task_distill":
            # BERT-EMD's flags now print the help of the settings they set: the same
            # meaning in the words nlu-train prints (e.g. "Peak AdamW learning rate.").
            before, now = ({name: {**flag, "help": None} for name, flag in described.items()}
                           for described in (before, now))
        assert now == before, module
        assert commands[module]["settings"] == COMMANDS["command_lines"][module]["settings"]


@pytest.mark.parametrize("command, unset, no_flag", [
    # Required, or unset meaning the default (no held-out losses, jit_compile auto).
    (GENERAL_FLAGS, {"pregenerated_data", "teacher_model", "student_model", "output_dir",
                     "held_out_data", "jit_compile"},
     {"shuffle_buffer", "verbose", "optimizer.adam_epsilon", "optimizer.ema_momentum"}),
    (AUGMENT_FLAGS, set(), set()), (PREGENERATE_FLAGS, set(), set())],
    ids=["general_distill", "augment", "pregenerate"])
def test_every_setting_has_one_flag_with_its_default_and_help(command, unset, no_flag):
    values = flags.FlagValues()
    command.define(values)
    settings = {leaf.flag: leaf for leaf in leaves(command.cls)
                if leaf.flag and leaf.flag not in command.skip}
    assert {".".join(leaf.path) for leaf in leaves(command.cls)} == {
        ".".join(leaf.path) for leaf in settings.values()} | no_flag  # one flag each
    assert set(values) == set(settings)  # and no other
    for name, leaf in settings.items():
        default = leaf.field.default
        assert values[name].default == (None if name in unset else
                                        list(default) if isinstance(default, tuple) else default)
        assert values[name].help.endswith(leaf.field.metadata["help"])  # after "<a|b>: "
    required = {name: f"{name}_value" for name in command.required}
    values(["prog", *(f"--{name}={value}" for name, value in required.items())])
    assert command.settings(values.flag_values_dict()) == command.cls(**required)


def test_settings_stored_before_read_back_equal():
    # nlu-general-distill writes its settings into its checkpoint (compared on resuming)
    # and general_distill.json; the pregenerated epochs hash theirs by field name.
    stored = COMMANDS["command_lines"]["nlu_cli.general_distill"]["settings"]
    settings, unread = from_stored(GeneralDistillSettings, stored)
    assert (json.loads(json.dumps(settings.to_dict())), unread) == (stored, {})
    assert same_run(stored, settings.to_dict())
    assert not same_run({**stored, "max_steps": 8}, settings.to_dict())
    for cls in (GeneralDistillSettings, AugmentSettings, PregenerateSettings):
        assert json.loads(json.dumps(dataclasses.asdict(cls()))) == \
            COMMANDS["defaults"][cls.__name__]


@pytest.mark.parametrize("case", sorted(_read(BEFORE, "recipes.json")))
def test_every_recipe_resolves_as_before(case):
    before = _read(BEFORE, "recipes.json")[case]
    recipe = load_recipe(os.path.join(REPO, case.split(" + ")[0]), before["overrides"])
    assert json.loads(json.dumps(recipe)) == before["recipe"]
    now = stage_settings(recipe, "TEACHER")
    assert set(now) == set(before["stage_settings"])
    for name, stored in before["stage_settings"].items():
        pairs = (zip(stored, now[name]) if isinstance(stored, list)
                 else [(stored, now[name])])
        for one_before, one_now in pairs:
            # Read back into the dataclasses, the flat settings of before are the same
            # settings, every field (those never compared too) and nothing left unread.
            assert from_stored(RunSettings, one_before) == (one_now, {})
            assert comparable_settings(one_before) == comparable_settings(one_now.to_dict())


# Recipes written after the fixture, in the nested settings only: nothing stored before
# can name them (tests/test_pipeline.py resolves every recipe to valid stage settings).
NEWER_RECIPES = {f"configs/glue_{task}.yaml" for task in ("cola", "sst-2", "mrpc", "sts-b", "rte")}


def test_recipe_files_cover_the_configs():
    cases = {case.split(" + ")[0] for case in _read(BEFORE, "recipes.json")}
    assert not cases & NEWER_RECIPES
    assert cases | NEWER_RECIPES == {os.path.relpath(path, REPO)
                     for path in glob.glob(os.path.join(REPO, "configs", "*.yaml"))}


def _fixture_recipe(monkeypatch):
    monkeypatch.chdir(REPO)  # the recipe's data.data_dir is data/ of the repository
    stored = _read(RUN, "pipeline_settings.json")
    # The augment stage records the default teacher's absolute path, which is where the
    # installed package lies on the machine that wrote the fixture: read it as this one's.
    from nlu_tf.defaults import default_teacher_dir
    assert stored["stages"]["augment"]["source"] == "<the default teacher>"
    stored["stages"]["augment"]["source"] = default_teacher_dir()
    options = _read(BEFORE, "recipes.json")["configs/tiny.yaml + options"]["overrides"]
    recipe = load_recipe(os.path.join(REPO, stored["config"]), options, output_dir="runs/tiny")
    return stored, recipe


def test_a_run_folder_written_before_is_the_same_run(monkeypatch):
    from nlu_tf.pipeline import orchestrator
    from nlu_tf.pipeline.stages import comparable

    stored, recipe = _fixture_recipe(monkeypatch)
    assert json.loads(json.dumps(recipe)) == stored["recipe"]
    training = stage_settings(recipe, "TEACHER")
    expected = orchestrator._expected(recipe, training)
    for name in ("teacher", "student_2.1", "student_2.2"):
        written = _read(RUN, name, "settings.json")
        assert "trim_vocab" in written or name == "student_2.2"  # the flat form of before
        assert same_run(written, training[name].to_dict())
        assert same_run(stored["stages"][name], expected[name])
    [extra] = training["extra_teachers"]
    assert same_run(_read(RUN, "extra_teachers", "teacher_2", "settings.json"), extra.to_dict())
    for name in ("augment", "export", "evaluate", "report"):
        assert comparable(stored["stages"][name]) == comparable(expected[name]), name


def test_a_changed_value_is_another_run(monkeypatch):
    _, recipe = _fixture_recipe(monkeypatch)
    student = stage_settings(recipe, "TEACHER")["student_2.1"].to_dict()
    written = _read(RUN, "student_2.1", "settings.json")
    assert same_run(written, student)
    for key, value in (("trim_min_count", 3), ("embedding_size", 16),
                       ("trim_corpus", ["other.txt"])):
        assert not same_run({**written, key: value}, student), key
    assert not same_run({**written, "distill": {**written["distill"],
                                                "student_num_layers": 2}}, student)
    changed = {**student, "trim": {**student["trim"], "share_rows": False}}
    assert not same_run(written, changed)
    # Never compared: the verbosity, the teacher cache and the TensorBoard curves (a stage
    # written before the curves existed is not stale); compared as what it means:
    # jit_compile "auto" is XLA for float32.
    assert same_run({**written, "verbose": 2, "teacher_cache": False}, student)
    assert same_run({k: v for k, v in written.items() if k != "tensorboard"},
                    {**student, "tensorboard": False})
    assert same_run({**student, "jit_compile": "auto"}, {**student, "jit_compile": True})
    # A key no setting reads (written by a later version) is another run; invalid
    # settings are no run.
    assert not same_run({**written, "new_option": 1}, student)
    assert not same_run({**written, "stage": "3.0"}, student)


def test_a_setting_added_later_takes_its_default():
    now = RunSettings(stage="2.2").to_dict()
    older = {k: v for k, v in now.items() if k not in ("student", "extra_teachers")}
    assert comparable_settings(older) == comparable_settings(now)
    assert comparable_settings({**now, "student": {"weight_bits": 4}}) != \
        comparable_settings(now)


def test_stage_settings_written_now_are_nested_and_read_back_equal(tmp_path):
    recipe = load_recipe(os.path.join(REPO, "configs", "tiny.yaml"),
                         ["student.trim_vocab=true", "stage_2_2.weight_bits=4"])
    settings = stage_settings(recipe, "bert")
    written = json.loads(json.dumps(settings_dicts(settings)))
    assert written["student_2.1"]["trim"]["enabled"] is True
    assert written["student_2.2"]["student"]["weight_bits"] == 4
    assert "trim_vocab" not in written["student_2.1"]
    assert "student_num_layers" not in written["student_2.1"]["distill"]
    for name, value in written.items():
        assert from_stored(RunSettings, value) == (settings[name], {})


def test_recipe_sections_take_their_defaults_from_the_dataclasses():
    assert DEFAULTS["export"]["trim_min_count"] == TrimSettings().min_count
    trim_keys = {leaf.key for leaf in leaves(TrimSettings)}
    assert trim_keys <= set(DEFAULTS["student"]) and trim_keys <= set(DEFAULTS["export"])
    assert DEFAULTS["student"]["num_layers"] == StudentSettings().num_layers
    assert DEFAULTS["training"]["dropout"] == RunSettings().head_dropout
    assert DEFAULTS["stage_2_2"]["weight_bits"] == 0
    assert (DEFAULTS["augment"]["candidates"], DEFAULTS["augment"]["probability"]) == (
        AugmentSettings().candidates, AugmentSettings().probability)


@pytest.mark.parametrize("override, message", [
    ("student.trim_min_count=0", "student_2.1: trim_min_count must be >= 1, got 0"),
    ("student.trim_fallback_characters=greek", "student.trim_fallback_characters must be one "
                                               "of all, latin, got 'greek'"),
    ("export.trim_vocab_size=-1", "export: trim_vocab_size must be a non-negative integer"),
    ("student.embedding_size=-8", "student_2.1: embedding_size must be a non-negative"),
    ("student.trim_vocab=maybe", "student.trim_vocab: expected bool, got 'maybe'"),
    ("student.width=3", "unknown key 'student.width'")])
def test_a_bad_recipe_value_is_one_input_error(override, message):
    with pytest.raises(InputError, match=re.escape(message)):
        stage_settings(load_recipe(os.path.join(REPO, "configs", "tiny.yaml"), [override]),
                       "bert")


def test_a_bad_flag_value_is_one_line_and_exit_2(tmp_path):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run([sys.executable, os.path.join(REPO, "tools", "train.py"),
                             "--stage=2.1", "--teacher_model", str(tmp_path),
                             "--output_dir", str(tmp_path / "out"), "--trim_vocab",
                             "--trim_min_count=0"],
                            capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr.splitlines() == [
        "error: command line: trim_min_count must be >= 1, got 0"]


@dataclasses.dataclass(frozen=True)
class _Shape:
    depth: int = setting(2, "Blocks.", flag="toy_depth")
    names: tuple = setting((), "Names; repeat for several.")
    mode: str = setting("a", "A mode.", choices=("a", "b"))


@dataclasses.dataclass(frozen=True)
class _Toy:
    rate: float = setting(0.5, "A rate.", key="toy_rate", flag="rate_flag")
    on: bool = setting(False, "Whether.", compared=False)
    shape: _Shape = section(_Shape)


def test_a_new_setting_is_one_field():
    values = flags.FlagValues()
    define_settings_flags(_Toy, values)
    values(["prog", "--rate_flag=0.25", "--toy_depth=3", "--names=x", "--names=y",
            "--mode=b", "--on"])
    toy = build(_Toy, from_flags(_Toy, values.flag_values_dict()))
    assert toy == _Toy(rate=0.25, on=True, shape=_Shape(depth=3, names=("x", "y"), mode="b"))
    assert {name: values[name].flag_type() for name in values} == {
        "rate_flag": "float", "toy_depth": "int", "names": "multi string",
        "mode": "string enum", "on": "bool"}
    # Stored flat by an older layout (by flag name), or without a field: the same settings.
    assert from_stored(_Toy, {"rate": 0.25, "on": True, "toy_depth": 3, "names": ["x", "y"],
                              "mode": "b"}) == (toy, {})
    assert from_stored(_Toy, {"shape": {"mode": "b"}}) == (_Toy(shape=_Shape(mode="b")), {})
    assert compared_values(toy) == {"rate": 0.25, "shape": {"depth": 3, "names": ["x", "y"],
                                                            "mode": "b"}}
