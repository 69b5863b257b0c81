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

A hostile file cannot make the reader allocate much more than the file's size: every
zip record is charged to a byte budget (a multiple of the file size) before it is
decompressed, every tensor's extent is checked against its storage and charged before
it is copied, and the pickle's opcodes are scanned for memo bombs before it is run.
The stand-ins for torch's globals are created per file and are read-only, so one file
cannot change how the next one is read. Errors quote file-made names escaped and cut,
and never ``repr`` objects the file built.
"""

from __future__ import annotations

import collections
import io
import os
import pickle
import zipfile
from typing import Any

import numpy as np

from nlu_tf.checkpoints.pickle_scan import PickleScanError, check_pickle
from nlu_tf.errors import InputError, quote

__all__ = ["TorchCheckpointError", "UnsafeCheckpointError", "load_torch_state_dict"]

# The legacy (pre-1.6, non-zip) format starts with this number, pickled.
_LEGACY_MAGIC = (0x1950A86A20F9469CFC6C).to_bytes(10, "little")

# torch.save stores records uncompressed; a re-compressed file still stays far below this.
EXPANSION = 16
SLACK_BYTES = 1 << 20
_MAX_DIMS = 32

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


class _ReadOnly:
    """Base of the stand-ins: the pickle's BUILD opcode (and any setattr) cannot change them."""

    __slots__ = ()

    def __setattr__(self, name: str, value: Any) -> None:
        raise pickle.UnpicklingError(f"the pickle tries to modify {self}")

    def __delattr__(self, name: str) -> None:
        raise pickle.UnpicklingError(f"the pickle tries to modify {self}")

    def __setstate__(self, state: Any) -> None:
        raise pickle.UnpicklingError(f"the pickle tries to modify {self}")

    def __reduce__(self) -> Any:
        raise TypeError(f"{self} cannot be pickled")


class _StorageType(_ReadOnly):
    """Stand-in for ``torch.<Name>Storage``: records the element type, is not callable."""

    __slots__ = ("name", "dtype")

    def __init__(self, name: str) -> None:
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "dtype", np.dtype(_STORAGE_DTYPES[name]))

    def __str__(self) -> str:
        return f"torch.{self.name}"


class _Storage(_ReadOnly):
    """One storage record, read: a 1-D array, what the persistent id resolves to."""

    __slots__ = ("array",)

    def __init__(self, array: np.ndarray) -> None:
        object.__setattr__(self, "array", array)

    def __str__(self) -> str:
        return "a storage"


class _Function(_ReadOnly):
    """Stand-in for an allowed torch function: calls `target`, cannot be rebound."""

    __slots__ = ("label", "target")

    def __init__(self, label: str, target: Any) -> None:
        object.__setattr__(self, "label", label)
        object.__setattr__(self, "target", target)

    def __call__(self, *args: Any) -> Any:
        return self.target(*args)

    def __str__(self) -> str:
        return self.label


class _Budget:
    """Bytes the reader may still allocate for one file's content."""

    def __init__(self, path: str, file_size: int) -> None:
        self.path = path
        self.limit = EXPANSION * file_size + SLACK_BYTES
        self.left = self.limit

    def take(self, nbytes: int, what: str) -> None:
        """Charges `nbytes` for `what`, or raises before anything is allocated."""
        if nbytes > self.left:
            raise TorchCheckpointError(
                self.path, f"{what} would take the content past {self.limit} bytes "
                f"({EXPANSION} x the file size + 1 MiB); refused as a zip or pickle bomb")
        self.left -= nbytes


def _is_index(value: Any) -> bool:
    return type(value) is int and value >= 0


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickles ``data.pkl`` with an allow-list of globals and storages read from the zip."""

    def __init__(self, file: Any, archive: zipfile.ZipFile, prefix: str, path: str,
                 budget: _Budget) -> None:
        super().__init__(file)
        self._archive, self._prefix, self._path, self._budget = archive, prefix, path, budget
        self._storages: dict[tuple[str, str], _Storage] = {}
        self._globals: dict[tuple[str, str], Any] = {
            ("torch._utils", "_rebuild_tensor_v2"):
                _Function("torch._utils._rebuild_tensor_v2", self._rebuild_tensor_v2),
            ("torch._utils", "_rebuild_tensor"):
                _Function("torch._utils._rebuild_tensor", self._rebuild_tensor),
            ("torch._utils", "_rebuild_parameter"):
                _Function("torch._utils._rebuild_parameter", _rebuild_parameter),
            ("collections", "OrderedDict"):
                _Function("collections.OrderedDict", collections.OrderedDict),
            **{("torch", name): _StorageType(name) for name in _STORAGE_DTYPES},
        }

    def _error(self, problem: str) -> TorchCheckpointError:
        return TorchCheckpointError(self._path, problem)

    def find_class(self, module: str, name: str) -> Any:
        """Return the stand-in for an allowed global; refuse everything else unimported."""
        try:
            return self._globals[(module, name)]
        except (KeyError, TypeError):
            raise UnsafeCheckpointError(
                self._path, f"refused to load global {quote(f'{module}.{name}')}: only "
                "tensors and OrderedDict are allowed in a weights checkpoint") from None

    def persistent_load(self, pid: Any) -> _Storage:
        """Resolve ``("storage", type, key, location, numel)`` to a read-only 1-D array."""
        if not (type(pid) is tuple and len(pid) == 5 and pid[0] == "storage"
                and isinstance(pid[1], _StorageType) and type(pid[2]) is str
                and _is_index(pid[4])):
            raise self._error("unsupported persistent id (expected ('storage', "
                              "torch.<Type>Storage, key, location, numel))")
        _, stype, key, _location, numel = pid
        cache_key = (key, stype.name)
        if cache_key not in self._storages:
            self._storages[cache_key] = _Storage(self._read_storage(stype, key, numel))
        storage = self._storages[cache_key]
        if storage.array.size != numel:
            raise self._error(f"storage {quote(key)} is used with {numel} and "
                              f"{storage.array.size} elements")
        return storage

    def _read_storage(self, stype: _StorageType, key: str, numel: int) -> np.ndarray:
        record = f"{self._prefix}data/{key}"
        try:
            info = self._archive.getinfo(record)
        except KeyError:
            raise self._error(f"missing storage record {quote(record)}") from None
        needed = numel * stype.dtype.itemsize
        if info.file_size < needed:
            raise self._error(f"storage record {quote(record)} has {info.file_size} bytes, "
                              f"expected {needed} ({numel} x {stype.name})")
        self._budget.take(info.file_size, f"storage record {quote(record)}")
        array = np.frombuffer(self._archive.read(record), dtype=stype.dtype, count=numel)
        if stype.name == "BFloat16Storage":  # bfloat16 is the top half of a float32
            self._budget.take(4 * numel, f"storage record {quote(record)} as float32")
            array = (array.astype(np.uint32) << 16).view(np.float32)
        return array

    def _rebuild_tensor(self, storage: Any, offset: Any, size: Any, stride: Any) -> np.ndarray:
        """Materialise ``storage[offset]`` viewed with element ``size``/``stride`` as a fresh array.

        The view's extent is checked against the storage, and its bytes charged to the
        budget, before anything is allocated.

        Args:
            storage: what the persistent-id lookup returned.
            offset: first element, in elements.
            size: shape tuple.
            stride: per-dimension step, in elements.
        Returns:
            A C-contiguous copy, so views of shared storages (tied or transposed weights) stay correct.
        """
        if not isinstance(storage, _Storage):
            raise self._error("a tensor does not reference a storage")
        if not (type(size) is tuple and type(stride) is tuple and len(size) == len(stride)
                and len(size) <= _MAX_DIMS and _is_index(offset)
                and all(_is_index(v) for v in size + stride)):
            raise self._error("bad tensor geometry (offset, size and stride must be "
                              f"non-negative integers, size and stride of one length <= {_MAX_DIMS})")
        array = storage.array
        count = 1
        for n in size:
            count *= n
        if count == 0:
            return np.zeros(size, dtype=array.dtype)
        if count > array.size:
            raise self._error(f"a tensor of {count} elements is larger than its storage "
                              f"({array.size} elements)")
        last = offset + sum((n - 1) * s for n, s in zip(size, stride))
        if last >= array.size:
            raise self._error(f"a tensor view (last element {last}) runs past its storage "
                              f"of {array.size}")
        self._budget.take(count * array.itemsize, f"a tensor of {count} elements")
        item = array.itemsize
        view = np.lib.stride_tricks.as_strided(
            array[offset:], shape=size, strides=tuple(s * item for s in stride), writeable=False)
        return view.copy()

    def _rebuild_tensor_v2(self, storage, offset, size, stride, requires_grad=False, hooks=None,
                           metadata=None):
        """``torch._utils._rebuild_tensor_v2``: autograd flags, hooks and metadata are ignored."""
        return self._rebuild_tensor(storage, offset, size, stride)


def _rebuild_parameter(data: np.ndarray, requires_grad: bool = False, hooks: Any = None) -> np.ndarray:
    """``torch._utils._rebuild_parameter``: a Parameter is just its tensor here."""
    return data


def _archive_prefix(archive: zipfile.ZipFile, path: str) -> str:
    """Return ``'<top folder>/'`` of the single ``data.pkl`` record in the archive."""
    found = [n for n in archive.namelist()
             if n == "data.pkl" or (n.endswith("/data.pkl") and n.count("/") == 1)]
    if len(found) != 1:
        raise TorchCheckpointError(
            path, "zip archive is not a torch.save checkpoint "
            f"({'no' if not found else 'more than one'} <name>/data.pkl record)")
    return found[0][: -len("data.pkl")]


def _read_record(archive: zipfile.ZipFile, name: str, budget: _Budget) -> bytes:
    """Reads one record after charging its declared size (zipfile never returns more)."""
    budget.take(archive.getinfo(name).file_size, f"record {quote(name)}")
    return archive.read(name)


def _as_state_dict(obj: Any, path: str) -> dict[str, np.ndarray]:
    """Unwrap ``{"state_dict"|"model": {...}}`` and check the result is name -> numeric array."""
    if isinstance(obj, dict) and not all(isinstance(v, np.ndarray) for v in obj.values()):
        inner = next((obj[k] for k in ("state_dict", "model")
                      if isinstance(obj.get(k), dict)), None)
        obj = inner if inner is not None else obj
    if not isinstance(obj, dict):
        raise TorchCheckpointError(path, f"checkpoint holds a {type(obj).__name__}, not a state dict")
    bad = [k for k, v in obj.items() if not isinstance(k, str) or not isinstance(v, np.ndarray)
           or v.dtype.kind not in "biuf"]
    if bad:
        shown = ", ".join(quote(k) for k in bad[:5])
        raise TorchCheckpointError(path, f"not a flat state dict of tensors; bad entries: {shown}")
    return dict(obj)


def _load(path: str, archive: zipfile.ZipFile, budget: _Budget) -> Any:
    """Reads the archive's pickle (scanned first) and storages under `budget`."""
    prefix = _archive_prefix(archive, path)
    if f"{prefix}byteorder" in archive.namelist():
        order = _read_record(archive, f"{prefix}byteorder", budget)
        if order.strip() != b"little":
            raise TorchCheckpointError(
                path, f"byteorder is {quote(order.decode('ascii', 'replace').strip())}; "
                "only little-endian checkpoints are supported")
    data = _read_record(archive, f"{prefix}data.pkl", budget)
    try:
        check_pickle(data, max_weight=2 * len(data) + 1024)
    except PickleScanError as error:
        raise TorchCheckpointError(path, f"refused data.pkl: {error}") from None
    return _RestrictedUnpickler(io.BytesIO(data), archive, prefix, path, budget).load()


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
            a missing storage record, a tensor outside its storage, content that would
            expand past `EXPANSION` times the file size, or content that is not a flat
            state dict.
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
    budget = _Budget(path, os.path.getsize(path))
    try:
        with zipfile.ZipFile(path) as archive:
            obj = _load(path, archive, budget)
    except TorchCheckpointError:
        raise
    except Exception as exc:  # any failure inside a malformed pickle or zip means a bad file
        raise TorchCheckpointError(
            path, f"corrupt checkpoint: {type(exc).__name__}: {quote(str(exc), 120)}") from None
    return _as_state_dict(obj, path)
