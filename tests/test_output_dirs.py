"""One rule for output directories: a command replaces only its own earlier output, never
its input nor a directory holding something it did not write."""

import json
import os
import shutil

import pytest

from nlu_tf.errors import InputError
from nlu_tf.io_utils import atomic_dir
from nlu_tf.output_dirs import MARKER, check_output_dir, claim, mark, refuse_inputs
from tests.tiny import write_tiny_dataset


def _files(path):
    return sorted(os.path.relpath(os.path.join(root, name), path)
                  for root, _, names in os.walk(path) for name in names)


def test_claim_accepts_absent_empty_own_and_legacy_outputs(tmp_path):
    claim(str(tmp_path / "absent"), "model")
    (tmp_path / "empty").mkdir()
    claim(str(tmp_path / "empty"), "model")
    with atomic_dir(str(tmp_path / "own"), "model") as tmp:
        with open(os.path.join(tmp, "config.json"), "w") as f:
            json.dump({"format": "nlu_tf.joint_model"}, f)
    assert not (tmp_path / "own" / MARKER).exists()  # nothing foreign inside an artefact
    claim(str(tmp_path / "own"), "model")
    marked = tmp_path / "pipeline"
    marked.mkdir()
    mark(str(marked), "pipeline")
    (marked / "anything").write_text("x")
    claim(str(marked), "pipeline")
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    (legacy / "model_info.json").write_text("{}")
    claim(str(legacy), "tflite")
    convert = tmp_path / "convert"  # a container of legacy export folders
    shutil.copytree(legacy, convert / "tflite_dynamic")
    claim(str(convert), "convert")


def test_claim_refuses_foreign_directories_files_and_other_kinds(tmp_path):
    data = write_tiny_dataset(str(tmp_path / "data"), train=4, dev=2, test=2)
    with pytest.raises(InputError, match="nlu_tf did not write"):
        claim(data, "model")
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="not a directory"):
        claim(str(tmp_path / "file"), "model")
    (tmp_path / "own").mkdir()
    mark(str(tmp_path / "own"), "convert")
    with pytest.raises(InputError, match="another kind"):
        claim(str(tmp_path / "own"), "pipeline")
    checkpoint = tmp_path / "bert"  # a Hugging Face checkpoint is never nlu_tf's
    checkpoint.mkdir()
    (checkpoint / "config.json").write_text('{"model_type": "bert"}')
    with pytest.raises(InputError, match="did not write"):
        claim(str(checkpoint), "model")


def test_atomic_dir_never_replaces_a_foreign_directory(tmp_path):
    data = write_tiny_dataset(str(tmp_path / "data"), train=4, dev=2, test=2)
    before = _files(data)
    with pytest.raises(InputError):
        with atomic_dir(data, "split") as tmp:
            open(os.path.join(tmp, "seq.in"), "w").close()
    assert _files(data) == before
    assert [name for name in os.listdir(tmp_path) if name.startswith(".data")] == []


def test_refuse_inputs_same_or_parent(tmp_path):
    data = tmp_path / "data" / "snips"
    data.mkdir(parents=True)
    for output in (data, tmp_path / "data", tmp_path):
        with pytest.raises(InputError, match="destroy the input"):
            refuse_inputs(str(output), [str(data)])
    refuse_inputs(str(data / "out"), [str(data)])  # inside the input: nothing is replaced
    refuse_inputs(str(tmp_path / "out"), ["", str(data)])


def test_train_refuses_its_data_or_teacher_as_output_before_training(settings_factory,
                                                                     tiny_data_dir, tiny_bert_dir,
                                                                     tmp_path):
    from nlu_tf.training.stage import run_stage

    teacher = shutil.copytree(tiny_bert_dir, str(tmp_path / "teacher"))
    data = shutil.copytree(tiny_data_dir, str(tmp_path / "data"))
    for output, problem in ((data, "destroy the input"), (teacher, "destroy the input")):
        before = _files(output)
        settings = settings_factory(output, teacher)
        settings = type(settings)(**{**settings.__dict__,
                                     "data": type(settings.data)(**{**settings.data.__dict__,
                                                                    "data_dir": data})})
        with pytest.raises(InputError, match=problem):
            run_stage(settings)
        assert _files(output) == before
    foreign = tmp_path / "home"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="did not write"):
        run_stage(settings_factory(str(foreign), teacher))
    assert (foreign / "notes.txt").read_text() == "mine"


def test_augmentation_refuses_the_dataset_and_its_train_split(tiny_bert_dir, tmp_path):
    from nlu_tf.augment.augmenter import AugmentSettings
    from nlu_tf.augment.run import augment_dataset

    data = write_tiny_dataset(str(tmp_path / "data"), train=4, dev=2, test=2)
    before = _files(data)
    for output in (data, os.path.join(data, "train")):
        with pytest.raises(InputError):
            augment_dataset(data, tiny_bert_dir, AugmentSettings(copies=1), output, stream=None)
    assert _files(data) == before


def test_check_output_dir_reports_the_input_first(tmp_path):
    data = write_tiny_dataset(str(tmp_path / "data"), train=4, dev=2, test=2)
    with pytest.raises(InputError, match="destroy the input"):
        check_output_dir(data, "model", [data])


def test_a_killed_writers_temporary_folder_is_removed_by_the_next_run(tmp_path):
    import subprocess
    import sys

    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)
    dead = int(child.stdout)  # a process that has ended
    stale = tmp_path / f".out.tmp-{dead}-0123456789ab"
    stale.mkdir()
    (stale / "half.bin").write_bytes(b"x")
    live = tmp_path / f".out.tmp-{os.getpid()}-0123456789ab"  # a writer still running
    live.mkdir()
    with atomic_dir(str(tmp_path / "out"), "model") as tmp:
        open(os.path.join(tmp, "settings.json"), "w").close()
    assert not stale.exists() and live.exists()


def test_a_huge_student_layer_count_is_refused_before_building(tiny_bert_dir, tiny_data_dir):
    from nlu_tf.data.reader import LabelMaps
    from nlu_tf.model_io.model_dir import from_pretrained
    from nlu_tf.surgery.student import cut_from_teacher

    teacher = from_pretrained(tiny_bert_dir, LabelMaps.from_dir(tiny_data_dir), 32)
    for count in (10 ** 8, 3, 0):  # 10 ** 8 built first would exhaust the memory
        with pytest.raises(InputError, match="has 1..2 layers"):
            cut_from_teacher(teacher, count)


@pytest.mark.parametrize("split", ["train", "dev"])
def test_an_empty_train_or_dev_split_is_refused_before_training(split, settings_factory,
                                                                 tiny_bert_dir, tmp_path):
    from nlu_tf.training.stage import run_stage

    data = write_tiny_dataset(str(tmp_path / "data"), train=4, dev=2, test=2)
    for name in ("seq.in", "seq.out", "label"):
        open(os.path.join(data, split, name), "w").close()
    settings = settings_factory(str(tmp_path / "out"), tiny_bert_dir)
    settings = type(settings)(**{**settings.__dict__,
                                 "data": type(settings.data)(**{**settings.data.__dict__,
                                                                "data_dir": data})})
    with pytest.raises(InputError, match=f"{split}: no utterances"):
        run_stage(settings)
    assert not (tmp_path / "out").exists()
