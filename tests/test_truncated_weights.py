"""A truncated or corrupt `model.weights.h5` is refused with one line naming it (exit 2), in
every command that loads a model directory (#43 item 12)."""

import os
import shutil

import pytest

from nlu_tf.errors import InputError
from tests.test_loading_cli import _refused, _run


@pytest.fixture(scope="module")
def truncated(tmp_path_factory, tiny_model_dir):
    model = str(tmp_path_factory.mktemp("trunc") / "model")
    shutil.copytree(tiny_model_dir, model)
    weights = os.path.join(model, "model.weights.h5")
    with open(weights, "r+b") as f:
        f.truncate(os.path.getsize(weights) // 2)
    return model, weights


def test_load_model_dir_names_the_truncated_file(truncated):
    from nlu_tf.model_io.model_dir import load_model_dir

    model, weights = truncated
    with pytest.raises(InputError, match="truncated or corrupt") as error:
        load_model_dir(model)
    assert str(error.value).startswith(weights + ": ")


def test_garbage_weights_are_one_line(tmp_path, tiny_model_dir):
    from nlu_tf.model_io.model_dir import load_model_dir

    model = str(tmp_path / "model")
    shutil.copytree(tiny_model_dir, model)
    with open(os.path.join(model, "model.weights.h5"), "wb") as f:
        f.write(b"\x89HDF\r\n\x1a\n" + os.urandom(4096))
    with pytest.raises(InputError, match="truncated or corrupt"):
        load_model_dir(model)


@pytest.mark.parametrize("tool, args", [
    ("evaluate.py", ["--data_dir", "{data}"]),
    ("predict.py", ["--input_query", "play some jazz"]),
    ("convert.py", ["--convert_dir", "{out}", "--quantization", "float32"]),
    ("trim_vocab.py", ["--output_dir", "{out}", "--data_dir", "{data}", "--task", ""]),
])
def test_every_command_refuses_a_truncated_weights_file(truncated, tiny_data_dir, tmp_path,
                                                       tool, args):
    model, weights = truncated
    args = [a.format(data=tiny_data_dir, out=str(tmp_path / "out")) for a in args]
    _refused(_run(tool, "--model_dir", model, *args), weights, "truncated or corrupt")
    assert not (tmp_path / "out").exists()
