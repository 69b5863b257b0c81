"""Hostile ``pytorch_model.bin`` files: bounded memory and time, no state left behind, clean errors.

Every file is built here; the large ones are zip bombs of a few MB at most on disk.
"""

import time
import zipfile

import numpy as np
import pytest

from nlu_tf.checkpoints import torch_pickle
from nlu_tf.checkpoints.torch_pickle import TorchCheckpointError, load_torch_state_dict
from tests.peak_memory import peak_of_call
from tests.torch_bin_writer import PickleBuilder, View, emit_tensor, save_torch_state_dict, write_archive

MB = 1 << 20
PEAK_LIMIT = 200 * MB
LOADER = "nlu_tf.checkpoints.torch_pickle:load_torch_state_dict"


def _one_line(error):
    text = str(error)
    assert "\n" not in text and "\r" not in text and "\x1b" not in text, text
    assert len(text) < 400, len(text)
    return text


def write_stride0(path):
    """A 1-element storage seen as 2**28 floats (1 GiB) through stride 0."""
    save_torch_state_dict({"w": np.zeros(1, np.float32), "big": View("w", 0, (1 << 28,), (0,))},
                          path)


def write_storage_bomb(path):
    """One 512 MiB storage of zeros, deflated to about a megabyte."""
    numel = 128 * MB
    p = PickleBuilder()
    p.empty_ordered_dict()
    p.op(b"(")
    p.str_("w")
    emit_tensor(p, "FloatStorage", "0", numel, 0, (numel,), (1,))
    p.op(b"u.")
    write_archive(path, bytes(p.out), {"0": [4 * numel]}, deflate=True)


def write_pickle_bomb(path):
    """A data.pkl holding one 512 MiB bytes object of zeros, deflated."""
    size = 512 * MB
    write_archive(path, [b"\x80\x02\x8e" + size.to_bytes(8, "little"), size, b"."], {},
                  deflate=True)


def write_shared_storage_bomb(path, tensors=4096, numel=64 * 1024):
    """4096 tensors over one 256 KiB storage, each copied on load: 1 GiB from a small file."""
    p = PickleBuilder()
    p.global_("torch._utils", "_rebuild_tensor_v2")
    p.op(b"q\x00(")
    p.str_("storage")
    p.global_("torch", "FloatStorage")
    p.str_("0")
    p.str_("cpu")
    p.int_(numel)
    p.op(b"tQq\x010")  # TUPLE, BINPERSID, BINPUT 1, POP
    p.empty_ordered_dict()
    p.op(b"(")
    for i in range(tensors):
        p.str_(f"w{i}")
        p.op(b"h\x00(h\x01")  # the function, MARK, the memoised storage
        p.int_(0)
        p.int_tuple((numel,))
        p.int_tuple((1,))
        p.op(b"tR")
    p.op(b"u.")
    write_archive(path, bytes(p.out), {"0": [4 * numel]}, deflate=True)


@pytest.mark.parametrize("write, problem", [
    (write_stride0, "larger than its storage"),
    (write_storage_bomb, "zip or pickle bomb"),
    (write_pickle_bomb, "zip or pickle bomb"),
    (write_shared_storage_bomb, "zip or pickle bomb"),
], ids=["stride0", "zip_bomb_storage", "zip_bomb_pickle", "memo_bomb_shared_storage"])
def test_hostile_file_is_refused_with_bounded_memory(tmp_path, write, problem):
    path = tmp_path / "pytorch_model.bin"
    write(path)
    assert path.stat().st_size < 4 * MB
    with pytest.raises(TorchCheckpointError, match=problem) as info:
        load_torch_state_dict(path)
    assert _one_line(info.value).startswith(f"{path}: ")
    peak, error = peak_of_call(LOADER, path)
    assert error is not None and problem in error
    assert peak < PEAK_LIMIT, f"loading took {peak / MB:.0f} MB"


def test_peak_memory_probe_sees_a_large_allocation():
    """Control: the probe of the test above does see memory a call touches."""
    peak, error = peak_of_call("tests.peak_memory:allocate", 300 * MB)
    assert error is None and peak > PEAK_LIMIT


def test_stride0_file_is_tiny(tmp_path):
    path = tmp_path / "s.bin"
    write_stride0(path)
    assert path.stat().st_size < 1024


def _bomb(p, depth):
    """Leaves on the stack a tuple whose expanded tree has 2**depth leaves, in 6*depth bytes."""
    p.str_("x")
    p.op(b"q\x00")
    for i in range(depth):
        p.op(b"h" + bytes([i]) + b"h" + bytes([i]) + b"\x86q" + bytes([i + 1]))


def _pid_bomb(p):
    p.global_("torch._utils", "_rebuild_tensor_v2")
    p.op(b"((")
    p.str_("storage")
    p.global_("torch", "FloatStorage")
    _bomb(p, 40)
    p.str_("cpu")
    p.int_(1)
    p.op(b"tQ")
    p.int_(0)
    p.int_tuple((1,))
    p.int_tuple((1,))
    p.op(b"tR")


def _key_bomb(p):
    _bomb(p, 40)
    emit_tensor(p, "FloatStorage", "0", 1, 0, (1,), (1,))


@pytest.mark.parametrize("build_entry", [_pid_bomb, _key_bomb], ids=["persistent_id", "dict_key"])
def test_memo_bomb_is_refused_fast(tmp_path, build_entry):
    p = PickleBuilder()
    p.empty_ordered_dict()
    p.op(b"(")
    if build_entry is _pid_bomb:
        p.str_("w")
    build_entry(p)
    p.op(b"u.")
    path = tmp_path / "bomb.bin"
    write_archive(path, bytes(p.out), {"0": np.zeros(1, "<f4").tobytes()})
    assert path.stat().st_size < 2048
    started = time.perf_counter()
    with pytest.raises(TorchCheckpointError, match="memo bomb") as info:
        load_torch_state_dict(path)
    assert time.perf_counter() - started < 2
    _one_line(info.value)


def _write_build_on(path, module, name, attribute, value):
    """A pickle that BUILDs `module.name` with slot state {attribute: value}, then returns {}."""
    p = PickleBuilder()
    p.global_(module, name)
    p.op(b"N}")
    p.str_(attribute)
    p.str_(value) if isinstance(value, str) else p.int_tuple(value)
    p.op(b"s\x86b0}.")  # SETITEM, TUPLE2 (None, slots), BUILD, POP, {} STOP
    write_archive(path, bytes(p.out), {})


@pytest.mark.parametrize("module, name, attribute, value", [
    ("torch", "FloatStorage", "name", "BFloat16Storage"),
    ("torch", "FloatStorage", "dtype", "<f8"),
    ("torch._utils", "_rebuild_tensor_v2", "__defaults__", (1, 2, 3)),
    ("torch._utils", "_rebuild_parameter", "__defaults__", (1, 2)),
])
def test_stand_ins_cannot_be_changed_by_a_pickle(tmp_path, module, name, attribute, value):
    hostile = tmp_path / "hostile.bin"
    _write_build_on(hostile, module, name, attribute, value)
    with pytest.raises(TorchCheckpointError, match="tries to modify") as info:
        load_torch_state_dict(hostile)
    _one_line(info.value)
    good = tmp_path / "good.bin"
    want = np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3)
    save_torch_state_dict({"w": want, "t": View("w", 0, (3, 2), (1, 3))}, good)
    loaded = load_torch_state_dict(good)
    assert loaded["w"].dtype == np.float32
    np.testing.assert_array_equal(loaded["w"], want)
    np.testing.assert_array_equal(loaded["t"], want.T)
    assert torch_pickle._rebuild_parameter.__defaults__ == (False, None)


def test_names_in_errors_are_escaped(tmp_path):
    p = PickleBuilder()
    p.str_("os\n\x1b[2J")
    p.str_("system\r")
    p.op(b"\x93.")  # STACK_GLOBAL, STOP
    path = tmp_path / "global.bin"
    write_archive(path, bytes(p.out), {})
    with pytest.raises(torch_pickle.UnsafeCheckpointError) as info:
        load_torch_state_dict(path)
    assert r"'os\n\x1b[2J.system\r'" in _one_line(info.value)

    p = PickleBuilder()
    p.empty_ordered_dict()
    p.op(b"(")
    p.str_("w")
    emit_tensor(p, "FloatStorage", "0\n\x1b[31mred" + "x" * 500, 1, 0, (1,), (1,))
    p.op(b"u.")
    path = tmp_path / "key.bin"
    write_archive(path, bytes(p.out), {})
    with pytest.raises(TorchCheckpointError, match="missing storage record") as info:
        load_torch_state_dict(path)
    assert r"0\n\x1b[31mred" in _one_line(info.value)

    p = PickleBuilder()
    p.op(b"}")
    p.str_("bad\n\x1b]0;title\x07")
    p.int_(3)
    p.op(b"s.")
    path = tmp_path / "entry.bin"
    write_archive(path, bytes(p.out), {})
    with pytest.raises(TorchCheckpointError, match="bad entries") as info:
        load_torch_state_dict(path)
    assert r"'bad\n\x1b]0;title\x07'" in _one_line(info.value)


def test_unsupported_opcode_is_refused(tmp_path):
    p = PickleBuilder()
    p.op(b"(cos\nsystem\nX\x01\x00\x00\x00xo.")  # MARK, GLOBAL, arg, OBJ
    path = tmp_path / "obj.bin"
    write_archive(path, bytes(p.out), {})
    with pytest.raises(TorchCheckpointError, match="unsupported pickle opcode OBJ"):
        load_torch_state_dict(path)


def test_storage_record_read_is_charged_before_decompression(tmp_path):
    """A storage record larger than its persistent id says is not read past the budget."""
    path = tmp_path / "long.bin"
    p = PickleBuilder()
    p.empty_ordered_dict()
    p.op(b"(")
    p.str_("w")
    emit_tensor(p, "FloatStorage", "0", 1, 0, (1,), (1,))
    p.op(b"u.")
    write_archive(path, bytes(p.out), {"0": [256 * MB]}, deflate=True)
    with zipfile.ZipFile(path) as archive:
        assert archive.getinfo("archive/data/0").file_size == 256 * MB
    with pytest.raises(TorchCheckpointError, match="zip or pickle bomb"):
        load_torch_state_dict(path)
