"""Shared fixtures: a tiny random BERT, a tiny Snips subset, a tiny fine-tuned model directory,
and a model with random heads exported as SavedModel and TFLite in every quantization."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

from tests.tiny import write_tiny_bert, write_tiny_dataset  # noqa: E402


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory):
    """A Hugging Face style BERT directory with random weights (2 layers, width 32)."""
    return write_tiny_bert(str(tmp_path_factory.mktemp("tiny_bert")))


@pytest.fixture(scope="session")
def tiny_data_dir(tmp_path_factory):
    """64 / 32 / 32 utterances of Snips in the dataset layout."""
    return write_tiny_dataset(str(tmp_path_factory.mktemp("tiny_data")))


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

    output = str(tmp_path_factory.mktemp("tiny_model") / "teacher")
    run_stage(tiny_settings(tiny_data_dir, output, tiny_bert_dir))
    return output


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

    keras.utils.set_random_seed(0)
    bundle = from_pretrained(tiny_bert_dir, LabelMaps.from_dir(tiny_data_dir), EXPORT_MAX_SEQ_LEN)
    return save_model_dir(bundle, str(tmp_path_factory.mktemp("export") / "model"))


@pytest.fixture(scope="session")
def convert_dir(export_model_dir, tiny_data_dir, tmp_path_factory):
    """`export_model_dir` converted: saved_model/, tflite_<mode>/ for every mode and the
    per-layer int8 error report (quantization_debug/).

    Shared by several test files: a test that writes into an export folder works on a copy.
    """
    from nlu_tf.export.convert import convert_model_dir
    from nlu_tf.export.metadata import QUANTIZATIONS

    path = str(tmp_path_factory.mktemp("export") / "convert")
    convert_model_dir(export_model_dir, path, QUANTIZATIONS, tiny_data_dir, "",
                      representative_size=64, debug_quantization=True)
    return path
