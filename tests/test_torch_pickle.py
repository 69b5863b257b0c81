"""Tests for the torch-free ``pytorch_model.bin`` reader."""

from __future__ import annotations

import pickle
import sys
import zipfile

import numpy as np
import pytest

from nlu_tf.checkpoints.torch_pickle import (
    TorchCheckpointError,
    UnsafeCheckpointError,
    load_torch_state_dict,
)
from tests.torch_bin_writer import BFloat16, View, save_torch_state_dict, write_malicious_bin


def _sample_state() -> dict:
    rng = np.random.default_rng(0)
    return {
        "embeddings.weight": rng.standard_normal((5, 3)).astype(np.float32),
        "half": rng.standard_normal((2, 4)).astype(np.float16),
        "position_ids": np.arange(7, dtype=np.int64).reshape(1, 7),
        "mask": np.array([True, False, True]),
        "double": np.array([1.5, -2.25]),
        "scalar": np.array(3.0, dtype=np.float32),
        "empty": np.zeros((0, 4), dtype=np.float32),
    }


@pytest.mark.parametrize("archive_name", ["archive", "pytorch_model"])
def test_round_trip_dtypes_and_shapes(tmp_path, archive_name):
    state = _sample_state()
    path = tmp_path / "pytorch_model.bin"
    save_torch_state_dict(state, path, archive_name=archive_name)
    loaded = load_torch_state_dict(path)
    assert list(loaded) == list(state)
    for name, want in state.items():
        got = loaded[name]
        assert got.dtype == want.dtype and got.shape == want.shape, name
        np.testing.assert_array_equal(got, want)


def test_bfloat16_becomes_float32(tmp_path):
    values = np.array([[1.0, -2.5, 0.15625], [3e38, -0.0, 1e-3]], dtype=np.float32)
    path = tmp_path / "bf16.bin"
    save_torch_state_dict({"w": BFloat16(values)}, path)
    got = load_torch_state_dict(path)["w"]
    assert got.dtype == np.float32 and got.shape == (2, 3)
    np.testing.assert_array_equal(got[0], values[0])  # exactly representable in bfloat16
    np.testing.assert_allclose(got, values, rtol=2**-8)


def test_shared_storage_and_strided_views(tmp_path):
    base = np.arange(12, dtype=np.float32).reshape(3, 4)
    state = {
        "word_embeddings.weight": base,
        "lm_head.weight": View("word_embeddings.weight", 0, (3, 4), (4, 1)),  # tied
        "transposed": View("word_embeddings.weight", 0, (4, 3), (1, 4)),
        "every_other_col": View("word_embeddings.weight", 5, (2, 2), (4, 2)),
        "broadcast": View("word_embeddings.weight", 2, (2, 3), (0, 1)),
    }
    path = tmp_path / "views.bin"
    save_torch_state_dict(state, path)
    loaded = load_torch_state_dict(path)
    np.testing.assert_array_equal(loaded["lm_head.weight"], base)
    np.testing.assert_array_equal(loaded["transposed"], base.T)
    np.testing.assert_array_equal(loaded["every_other_col"], base[1:, 1::2])
    np.testing.assert_array_equal(loaded["broadcast"], np.broadcast_to(base.ravel()[2:5], (2, 3)))
    assert all(a.flags.c_contiguous and a.flags.writeable for a in loaded.values())
    loaded["lm_head.weight"][0, 0] = 99.0  # copies, not views of each other
    assert loaded["word_embeddings.weight"][0, 0] == 0.0


def test_view_past_end_of_storage_is_rejected(tmp_path):
    state = {"w": np.zeros(4, dtype=np.float32), "bad": View("w", 2, (3,), (1,))}
    path = tmp_path / "oob.bin"
    save_torch_state_dict(state, path)
    with pytest.raises(TorchCheckpointError, match="runs past its storage"):
        load_torch_state_dict(path)


@pytest.mark.parametrize(
    "global_name", ["os.system", "posix.system", "builtins.exec", "nlu_tf_no_such_module.run"]
)
def test_malicious_global_is_refused_and_not_run(tmp_path, global_name):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.bin"
    write_malicious_bin(path, marker, global_name=global_name)
    with pytest.raises(UnsafeCheckpointError) as info:
        load_torch_state_dict(path)
    assert isinstance(info.value, ValueError)
    assert global_name in str(info.value) and str(path) in str(info.value)
    assert not marker.exists()
    assert "nlu_tf_no_such_module" not in sys.modules


def test_malicious_payload_would_fire_under_plain_pickle(tmp_path):
    """Control: the file really is dangerous, so the refusal test above means something."""
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.bin"
    write_malicious_bin(path, marker, global_name="builtins.exec")

    class Permissive(pickle.Unpickler):
        def find_class(self, module, name):
            if module.startswith("torch"):
                return lambda *args: None
            return super().find_class(module, name)

        def persistent_load(self, pid):
            return None

    with zipfile.ZipFile(path) as zf, zf.open("archive/data.pkl") as fh:
        Permissive(fh).load()
    assert marker.exists()


def test_missing_storage_record(tmp_path):
    good = tmp_path / "good.bin"
    save_torch_state_dict({"w": np.ones(3, dtype=np.float32)}, good)
    bad = tmp_path / "missing.bin"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
        for info in src.infolist():
            if info.filename != "archive/data/0":
                dst.writestr(info, src.read(info))
    with pytest.raises(TorchCheckpointError, match="missing storage record 'archive/data/0'"):
        load_torch_state_dict(bad)


def test_truncated_zip(tmp_path):
    good = tmp_path / "good.bin"
    save_torch_state_dict({"w": np.ones(300, dtype=np.float32)}, good)
    data = good.read_bytes()
    bad = tmp_path / "truncated.bin"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(TorchCheckpointError, match="truncated or corrupt zip"):
        load_torch_state_dict(bad)


def test_corrupt_storage_bytes(tmp_path):
    path = tmp_path / "crc.bin"
    save_torch_state_dict({"w": np.arange(64, dtype=np.float32)}, path)
    data = bytearray(path.read_bytes())
    data[data.index(np.arange(64, dtype="<f4").tobytes()) + 8] ^= 0xFF  # breaks the CRC
    path.write_bytes(bytes(data))
    with pytest.raises(TorchCheckpointError, match="corrupt checkpoint"):
        load_torch_state_dict(path)


def test_legacy_and_non_torch_files(tmp_path):
    legacy = tmp_path / "legacy.bin"
    legacy.write_bytes(b"\x80\x02\x8a\x0a" + (0x1950A86A20F9469CFC6C).to_bytes(10, "little") + b".")
    with pytest.raises(TorchCheckpointError, match="re-save"):
        load_torch_state_dict(legacy)
    text = tmp_path / "notes.bin"
    text.write_text("hello")
    with pytest.raises(TorchCheckpointError, match="not a zip archive"):
        load_torch_state_dict(text)
    other_zip = tmp_path / "other.zip"
    with zipfile.ZipFile(other_zip, "w") as zf:
        zf.writestr("readme.txt", "hi")
    with pytest.raises(TorchCheckpointError, match="no <name>/data.pkl"):
        load_torch_state_dict(other_zip)


def test_big_endian_is_rejected(tmp_path):
    good = tmp_path / "good.bin"
    save_torch_state_dict({"w": np.ones(3, dtype=np.float32)}, good)
    bad = tmp_path / "big.bin"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
        for info in src.infolist():
            big = info.filename.endswith("/byteorder")
            dst.writestr(info, b"big" if big else src.read(info))
    with pytest.raises(TorchCheckpointError, match="only little-endian"):
        load_torch_state_dict(bad)


def test_wrapped_state_dict_is_unwrapped_and_non_tensors_rejected(tmp_path):
    # A checkpoint holding a bare tensor (not a dict) is refused with a clear message.
    path = tmp_path / "w.bin"
    save_torch_state_dict({"w": np.ones(2, dtype=np.float32)}, path)
    with zipfile.ZipFile(path) as zf:
        pkl = zf.read("archive/data.pkl")
    # Rewrite data.pkl as {"state_dict": OrderedDict(...), "epoch": 3}.
    wrapped = (b"\x80\x02}(X\x0a\x00\x00\x00state_dict" + pkl[2:-1]
               + b"X\x05\x00\x00\x00epochK\x03u.")
    for name, body, expect in [("wrapped.bin", wrapped, None),
                               ("flat_int.bin", b"\x80\x02}(X\x01\x00\x00\x00aK\x03u.", "bad entries"),
                               ("list.bin", b"\x80\x02].", "holds a list")]:
        out = tmp_path / name
        with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as dst:
            for info in src.infolist():
                dst.writestr(info, body if info.filename.endswith("data.pkl") else src.read(info))
        if expect is None:
            np.testing.assert_array_equal(load_torch_state_dict(out)["w"], np.ones(2, np.float32))
        else:
            with pytest.raises(TorchCheckpointError, match=expect):
                load_torch_state_dict(out)


def test_matches_real_torch_save(tmp_path):
    torch = pytest.importorskip("torch")
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    state = {
        "emb.weight": base,
        "tied.weight": base,
        "transposed": base.t(),
        "sliced": base[1:, ::2],
        "half": torch.randn(3, 5).half(),
        "bf16": torch.randn(2, 3).bfloat16(),
        "ids": torch.arange(9).reshape(3, 3),
        "param": torch.nn.Parameter(torch.randn(4)),
    }
    path = tmp_path / "real.bin"
    torch.save(state, path)
    loaded = load_torch_state_dict(path)
    assert list(loaded) == list(state)
    for name, tensor in state.items():
        want = tensor.detach().float().numpy() if name == "bf16" else tensor.detach().numpy()
        assert loaded[name].dtype == want.dtype, name
        np.testing.assert_array_equal(loaded[name], want)
    # And torch's own safe loader accepts what the test writer produces.
    ours = tmp_path / "ours.bin"
    save_torch_state_dict({"w": np.arange(6, dtype=np.float32).reshape(2, 3),
                           "t": View("w", 0, (3, 2), (1, 3))}, ours)
    back = torch.load(ours, weights_only=True)
    np.testing.assert_array_equal(back["t"].numpy(), np.arange(6, dtype=np.float32).reshape(2, 3).T)
