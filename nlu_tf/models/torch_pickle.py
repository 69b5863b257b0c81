"""Read PyTorch ``pytorch_model.bin`` checkpoints into NumPy without importing torch.

Since torch 1.6, ``torch.save`` writes a zip archive whose single top folder
(``archive/``, ``pytorch_model/``, ...) holds:

* ``data.pkl``: a pickle of the saved object; each tensor is a call to
  ``torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)`` and
  each storage is a persistent id ``("storage", torch.<Type>Storage, key,
  location, numel)``;
* ``data/<key>``: the raw bytes of that storage;
* ``byteorder`` (``little`` or ``big``) and ``version``.

The pickle is read by an unpickler that resolves only the few globals a state
dict needs. Any other global is refused by name, before it is imported, with
:class:`UnsafeCheckpointError`, so loading an untrusted file never runs its code.
"""

from __future__ import annotations

import collections
import os
import pickle
import zipfile
from typing import Any

import numpy as np

from nlu_tf.errors import InputError

__all__ = ["TorchCheckpointError", "UnsafeCheckpointError", "load_torch_state_dict"]

# The legacy (pre-1.6, non-zip) format starts with this number, pickled.
_LEGACY_MAGIC = (0x1950A86A20F9469CFC6C).to_bytes(10, "little")

# Storage class name -> little-endian element type in the file.
_STORAGE_DTYPES = {
    "FloatStorage": "<f4",
    "DoubleStorage": "<f8",
    "HalfStorage": "<f2",
    "BFloat16Storage": "<u2",  # converted to float32 on read
    "LongStorage": "<i8",
    "IntStorage": "<i4",
    "ShortStorage": "<i2",
    "CharStorage": "i1",
    "ByteStorage": "u1",
    "BoolStorage": "?",
}


class TorchCheckpointError(InputError):
    """A file that is not a readable ``torch.save`` state dict (one line: path and problem)."""


class UnsafeCheckpointError(TorchCheckpointError):
    """The checkpoint's pickle names a global outside the allow-list; nothing was imported or run."""


class _StorageType:
    """Stand-in for ``torch.<Name>Storage``: records the element type, is not callable."""

    __slots__ = ("name", "dtype")

    def __init__(self, name: str) -> None:
        self.name = name
        self.dtype = np.dtype(_STORAGE_DTYPES[name])


def _rebuild_tensor(storage: Any, offset: Any, size: Any, stride: Any) -> np.ndarray:
    """Materialise ``storage[offset]`` viewed with element ``size``/``stride`` as a fresh array.

    Args:
        storage: 1-D array returned by the persistent-id lookup.
        offset: first element, in elements.
        size: shape tuple.
        stride: per-dimension step, in elements.
    Returns:
        A C-contiguous copy, so views of shared storages (tied or transposed weights) stay correct.
    """
    if not isinstance(storage, np.ndarray) or storage.ndim != 1:
        raise ValueError("tensor does not reference a storage")
    size, stride = tuple(size), tuple(stride)
    fields = (offset, *size, *stride)
    if len(size) != len(stride) or not all(type(v) is int and v >= 0 for v in fields):
        raise ValueError(f"bad tensor geometry offset={offset!r} size={size!r} stride={stride!r}")
    if 0 in size:
        return np.zeros(size, dtype=storage.dtype)
    last = offset + sum((n - 1) * s for n, s in zip(size, stride))
    if last >= storage.size:
        raise ValueError(f"tensor view (last element {last}) runs past its storage of {storage.size}")
    item = storage.itemsize
    view = np.lib.stride_tricks.as_strided(
        storage[offset:], shape=size, strides=tuple(s * item for s in stride), writeable=False
    )
    return view.copy()


def _rebuild_tensor_v2(storage, offset, size, stride, requires_grad=False, hooks=None, metadata=None):
    """``torch._utils._rebuild_tensor_v2``: autograd flags, hooks and metadata are ignored."""
    return _rebuild_tensor(storage, offset, size, stride)


def _rebuild_parameter(data: np.ndarray, requires_grad: bool = False, hooks: Any = None) -> np.ndarray:
    """``torch._utils._rebuild_parameter``: a Parameter is just its tensor here."""
    return data


_ALLOWED: dict[tuple[str, str], Any] = {
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("collections", "OrderedDict"): collections.OrderedDict,
    **{("torch", name): _StorageType(name) for name in _STORAGE_DTYPES},
}


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickles ``data.pkl`` with an allow-list of globals and storages read from the zip."""

    def __init__(self, file: Any, archive: zipfile.ZipFile, prefix: str, path: str) -> None:
        super().__init__(file)
        self._archive, self._prefix, self._path = archive, prefix, path
        self._storages: dict[tuple[str, str], np.ndarray] = {}

    def find_class(self, module: str, name: str) -> Any:
        """Return the stand-in for an allowed global; refuse everything else unimported."""
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise UnsafeCheckpointError(
                self._path, f"refused to load global '{module}.{name}': only tensors and "
                "OrderedDict are allowed in a weights checkpoint") from None

    def persistent_load(self, pid: Any) -> np.ndarray:
        """Resolve ``("storage", type, key, location, numel)`` to a read-only 1-D array."""
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"
                and isinstance(pid[1], _StorageType) and type(pid[4]) is int and pid[4] >= 0):
            raise TorchCheckpointError(self._path, f"unsupported persistent id {str(pid)[:80]}")
        _, stype, key, _location, numel = pid
        cache_key = (str(key), stype.name)
        if cache_key not in self._storages:
            record = f"{self._prefix}data/{key}"
            try:
                raw = self._archive.read(record)
            except KeyError:
                raise TorchCheckpointError(self._path, f"missing storage record '{record}'") from None
            if len(raw) < numel * stype.dtype.itemsize:
                raise TorchCheckpointError(
                    self._path, f"storage record '{record}' has {len(raw)} bytes, "
                    f"expected {numel * stype.dtype.itemsize} ({numel} x {stype.name})")
            array = np.frombuffer(raw, dtype=stype.dtype, count=numel)
            if stype.name == "BFloat16Storage":  # bfloat16 is the top half of a float32
                array = (array.astype(np.uint32) << 16).view(np.float32)
            self._storages[cache_key] = array
        return self._storages[cache_key]


def _archive_prefix(archive: zipfile.ZipFile, path: str) -> str:
    """Return ``'<top folder>/'`` of the single ``data.pkl`` record in the archive."""
    found = [n for n in archive.namelist()
             if n == "data.pkl" or (n.endswith("/data.pkl") and n.count("/") == 1)]
    if len(found) != 1:
        raise TorchCheckpointError(
            path, "zip archive is not a torch.save checkpoint "
            f"({'no' if not found else 'more than one'} <name>/data.pkl record)")
    return found[0][: -len("data.pkl")]


def _as_state_dict(obj: Any, path: str) -> dict[str, np.ndarray]:
    """Unwrap ``{"state_dict"|"model": {...}}`` and check the result is name -> numeric array."""
    if isinstance(obj, dict) and not all(isinstance(v, np.ndarray) for v in obj.values()):
        inner = next((obj[k] for k in ("state_dict", "model") if isinstance(obj.get(k), dict)), None)
        obj = inner if inner is not None else obj
    if not isinstance(obj, dict):
        raise TorchCheckpointError(path, f"checkpoint holds a {type(obj).__name__}, not a state dict")
    bad = [k for k, v in obj.items() if not isinstance(k, str) or not isinstance(v, np.ndarray)
           or v.dtype.kind not in "biuf"]
    if bad:
        raise TorchCheckpointError(path, f"not a flat state dict of tensors; bad entries: {bad[:5]}")
    return dict(obj)


def load_torch_state_dict(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Load a ``torch.save`` zip checkpoint (e.g. ``pytorch_model.bin``) as NumPy arrays.

    Args:
        path: the checkpoint file.
    Returns:
        Parameter name -> array, in file order. bfloat16 tensors come back as float32;
        other dtypes are kept (float32/16/64, int64/32/16/8, uint8, bool).
    Raises:
        UnsafeCheckpointError: the pickle names a global outside the allow-list.
        TorchCheckpointError: legacy or big-endian format, truncated/corrupt archive,
            a missing storage record, or content that is not a flat state dict.
    """
    path = os.fspath(path)
    with open(path, "rb") as f:
        head = f.read(64)
    if not zipfile.is_zipfile(path):
        if _LEGACY_MAGIC in head:
            raise TorchCheckpointError(
                path, "legacy (pre-1.6, non-zip) torch checkpoint is not supported; re-save it "
                "with torch>=1.6 (torch.save(torch.load(f), f)) or convert it to safetensors")
        what = "truncated or corrupt zip archive" if head.startswith(b"PK") else "not a zip archive"
        raise TorchCheckpointError(path, f"{what}; expected a torch.save (torch>=1.6) checkpoint")
    try:
        with zipfile.ZipFile(path) as archive:
            prefix = _archive_prefix(archive, path)
            if f"{prefix}byteorder" in archive.namelist():
                order = archive.read(f"{prefix}byteorder").decode("ascii", "replace").strip()
                if order != "little":
                    raise TorchCheckpointError(
                        path, f"byteorder is '{order}'; only little-endian checkpoints are supported")
            with archive.open(f"{prefix}data.pkl") as pkl:
                obj = _RestrictedUnpickler(pkl, archive, prefix, path).load()
    except TorchCheckpointError:
        raise
    except Exception as exc:  # any failure inside a malformed pickle or zip means a bad file
        raise TorchCheckpointError(path, f"corrupt checkpoint: {type(exc).__name__}: {exc}") from exc
    return _as_state_dict(obj, path)
