"""Shared fixtures: a tiny random BERT, a tiny Snips subset, a tiny fine-tuned model directory,
and a model with random heads exported as SavedModel and TFLite in every quantization."""

import fcntl
import os
import shutil

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

from tests.tiny import write_tiny_bert, write_tiny_dataset  # noqa: E402


def pytest_xdist_auto_num_workers(config):
    """`--numprocesses=auto`: one worker more than the cores. Many tests wait on a child
    process (a command line, a run killed and resumed) or on files, and a third worker
    keeps both cores busy meanwhile (setup.cfg caps the workers at 4)."""
    return len(os.sched_getaffinity(0)) + 1


# The files that take longest on 2 cores (measured; each over 35 s of a run's 2,100 s),
# longest first. They are handed out first (setup.cfg: --no-loadscope-reorder keeps this
# order), so that the run ends on short files and never with one worker alone on a long one.
LONGEST_FILES = (
    "test_pipeline.py", "test_trim_vocab.py", "test_teacher_cache.py", "test_training.py",
    "test_export.py", "test_predict.py", "test_general_distill.py", "test_factorise.py",
    "test_teacher_ensemble.py", "test_pretraining.py", "test_glue_cli.py",
    "test_pipeline_augment.py", "test_data_errors.py", "test_distill.py",
    "test_glue_training.py", "test_augment.py", "test_distributed.py", "test_throughput.py",
    "test_glue_pipeline.py")


def pytest_collection_modifyitems(items):
    """Longest files first (`LONGEST_FILES`), the others after them in their own order."""
    rank = {name: position for position, name in enumerate(LONGEST_FILES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


def built_once(tmp_path_factory, name, build):
    """The folder `name`, written by `build(folder)` once per test run and shared by every
    xdist worker (each would otherwise train and convert the same tiny models again: the
    conversion alone is the slowest fixture). The first worker builds it under a lock, in
    place (builds record their own paths), and marks it done; the others wait and read it.
    Every build is seeded, and tests never write into these folders (they copy first).
    """
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the run's folder, above the workers' own
    folder, done = root / f"{name}_shared", root / f"{name}_shared.done"
    with open(root / f"{name}_shared.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)  # a build that failed half-way
            folder.mkdir()
            build(str(folder))
            done.touch()
    return str(folder)


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory):
    """A Hugging Face style BERT directory with random weights (2 layers, width 32)."""
    return built_once(tmp_path_factory, "tiny_bert", write_tiny_bert)


@pytest.fixture(scope="session")
def tiny_data_dir(tmp_path_factory):
    """64 / 32 / 32 utterances of Snips in the dataset layout."""
    return built_once(tmp_path_factory, "tiny_data", write_tiny_dataset)


def tiny_settings(tiny_data_dir, output_dir, teacher_model, **overrides):
    """Run settings for a few fast steps on the tiny data."""
    from nlu_tf.training.settings import DataSettings, OptimizerSettings, RunSettings

    data = DataSettings(data_dir=tiny_data_dir, task="", max_seq_len=32, train_batch_size=16,
                        eval_batch_size=32)
    base = dict(stage="2.0", output_dir=output_dir, teacher_model=teacher_model,
                num_train_epochs=2, seed=1, jit_compile=False, verbose=0, data=data,
                optimizer=OptimizerSettings(learning_rate=3e-3, warmup_proportion=0.0))
    base.update(overrides)
    return RunSettings(**base)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, tiny_bert_dir, tiny_data_dir):
    """A model directory fine-tuned (stage 2.0) for two epochs on the tiny data."""
    from nlu_tf.training.stage import run_stage

    folder = built_once(tmp_path_factory, "tiny_model", lambda path: run_stage(
        tiny_settings(tiny_data_dir, os.path.join(path, "teacher"), tiny_bert_dir)))
    return os.path.join(folder, "teacher")


@pytest.fixture
def settings_factory(tiny_data_dir):
    """Builds tiny `RunSettings`: settings_factory(output_dir, teacher_model, **overrides)."""
    return lambda output_dir, teacher_model, **kw: tiny_settings(tiny_data_dir, output_dir,
                                                                 teacher_model, **kw)


EXPORT_MAX_SEQ_LEN = 32


@pytest.fixture(scope="session")
def export_model_dir(tiny_bert_dir, tiny_data_dir, tmp_path_factory):
    """A model directory: the tiny random BERT with seeded random intent and slot heads.

    Random heads predict about 30 different tags on the tiny test split, where the
    fine-tuned `tiny_model_dir` predicts almost only "O": comparisons between artefacts
    need the former to mean something.
    """
    import keras

    from nlu_tf.data.reader import LabelMaps
    from nlu_tf.model_io.model_dir import from_pretrained, save_model_dir

    def build(path):
        keras.utils.set_random_seed(0)
        bundle = from_pretrained(tiny_bert_dir, LabelMaps.from_dir(tiny_data_dir),
                                 EXPORT_MAX_SEQ_LEN)
        save_model_dir(bundle, os.path.join(path, "model"))

    return os.path.join(built_once(tmp_path_factory, "export_model", build), "model")


@pytest.fixture(scope="session")
def convert_dir(export_model_dir, tiny_data_dir, tmp_path_factory):
    """`export_model_dir` converted: saved_model/, tflite_<mode>/ for every mode and the
    per-layer int8 error report (quantization_debug/).

    Shared by several test files: a test that writes into an export folder works on a copy.
    """
    from nlu_tf.export.convert import convert_model_dir
    from nlu_tf.export.metadata import QUANTIZATIONS

    def build(path):
        convert_model_dir(export_model_dir, os.path.join(path, "convert"), QUANTIZATIONS,
                          tiny_data_dir, "", representative_size=64, debug_quantization=True)

    return os.path.join(built_once(tmp_path_factory, "convert", build), "convert")
