"""Write ``torch.save``-format zip checkpoints without torch, for tests.

The pickle is emitted opcode by opcode (protocol 2, as torch writes it), so the
torch globals it names never have to exist in this process.
"""

from __future__ import annotations

import dataclasses
import os
import shlex
import struct
import zipfile
from typing import Union

import numpy as np

# numpy dtype -> torch storage class name.
_STORAGE_NAMES = {
    np.dtype(np.float32): "FloatStorage",
    np.dtype(np.float64): "DoubleStorage",
    np.dtype(np.float16): "HalfStorage",
    np.dtype(np.int64): "LongStorage",
    np.dtype(np.int32): "IntStorage",
    np.dtype(np.int16): "ShortStorage",
    np.dtype(np.int8): "CharStorage",
    np.dtype(np.uint8): "ByteStorage",
    np.dtype(np.bool_): "BoolStorage",
}


@dataclasses.dataclass
class BFloat16:
    """A tensor to store as bfloat16; ``values`` are rounded (nearest-even) from float32."""

    values: np.ndarray

    def bits(self) -> np.ndarray:
        """Return the bfloat16 bit patterns as uint16."""
        u32 = np.ascontiguousarray(self.values, dtype=np.float32).view(np.uint32).astype(np.uint64)
        return ((u32 + 0x7FFF + ((u32 >> 16) & 1)) >> 16).astype(np.uint16)


@dataclasses.dataclass
class View:
    """A tensor sharing the storage of entry ``source`` (offset/stride in elements)."""

    source: str
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]


Entry = Union[np.ndarray, BFloat16, View]


class PickleBuilder:
    """Minimal protocol-2 pickle emitter for the opcodes torch's data.pkl uses."""

    def __init__(self) -> None:
        self.out = bytearray(b"\x80\x02")  # PROTO 2

    def global_(self, module: str, name: str) -> None:
        self.out += b"c" + f"{module}\n{name}\n".encode()

    def str_(self, text: str) -> None:
        data = text.encode("utf-8")
        self.out += b"X" + struct.pack("<I", len(data)) + data

    def int_(self, value: int) -> None:
        if -(2**31) <= value < 2**31:
            self.out += b"J" + struct.pack("<i", value)
        else:
            data = value.to_bytes((value.bit_length() + 8) // 8, "little", signed=True)
            self.out += b"\x8a" + bytes([len(data)]) + data

    def int_tuple(self, values: tuple[int, ...]) -> None:
        self.out += b"("
        for v in values:
            self.int_(int(v))
        self.out += b"t"

    def empty_ordered_dict(self) -> None:
        self.global_("collections", "OrderedDict")
        self.out += b")R"  # EMPTY_TUPLE, REDUCE

    def op(self, code: bytes) -> None:
        self.out += code


def _storage_of(value: np.ndarray | BFloat16) -> tuple[str, bytes, int]:
    """Return (storage class name, little-endian bytes, element count)."""
    if isinstance(value, BFloat16):
        bits = value.bits().ravel()
        return "BFloat16Storage", bits.astype("<u2").tobytes(), bits.size
    array = np.asarray(value)
    name = _STORAGE_NAMES[array.dtype]
    flat = np.ascontiguousarray(array).ravel()
    return name, flat.astype(array.dtype.newbyteorder("<")).tobytes(), flat.size


def _contiguous_strides(shape: tuple[int, ...]) -> tuple[int, ...]:
    strides, step = [], 1
    for n in reversed(shape):
        strides.append(step)
        step *= max(n, 1)
    return tuple(reversed(strides))


def emit_tensor(p: PickleBuilder, stype: str, key: str, numel: int, offset: int,
                 size: tuple[int, ...], stride: tuple[int, ...]) -> None:
    """Emit ``torch._utils._rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())``."""
    p.global_("torch._utils", "_rebuild_tensor_v2")
    p.op(b"((")  # MARK args, MARK persistent id
    p.str_("storage")
    p.global_("torch", stype)
    p.str_(key)
    p.str_("cpu")
    p.int_(numel)
    p.op(b"tQ")  # TUPLE, BINPERSID
    p.int_(offset)
    p.int_tuple(size)
    p.int_tuple(stride)
    p.op(b"\x89")  # NEWFALSE (requires_grad)
    p.empty_ordered_dict()  # backward hooks
    p.op(b"tR")  # TUPLE, REDUCE


def _write_zip(path: str | os.PathLike, archive_name: str, pickle_bytes: bytes,
               storages: list[bytes]) -> None:
    """Write the records in torch's order: data.pkl, metadata, data/<i>, version."""
    write_archive(path, pickle_bytes, {str(key): data for key, data in enumerate(storages)},
                  archive_name)


Content = Union[bytes, list]


def _write_record(zf: zipfile.ZipFile, name: str, content: Content) -> None:
    """Write `content`: bytes, or a list of bytes and ints (that many zero bytes, streamed)."""
    pieces = content if isinstance(content, list) else [content]
    size = sum(piece if isinstance(piece, int) else len(piece) for piece in pieces)
    with zf.open(name, "w", force_zip64=size >= 1 << 31) as out:
        for piece in pieces:
            if isinstance(piece, int):
                chunk = bytes(1 << 20)
                for start in range(0, piece, len(chunk)):
                    out.write(chunk[: min(len(chunk), piece - start)])
            else:
                out.write(piece)


def write_archive(path: str | os.PathLike, pickle_bytes: Content, storages: dict[str, Content],
                  archive_name: str = "archive", deflate: bool = False) -> None:
    """Write a torch-style zip: data.pkl, metadata, data/<key> records, version.

    With `deflate`, records are compressed (torch never does; a zip bomb does).
    """
    compression = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "w", compression=compression, compresslevel=1 if deflate else None) as zf:
        _write_record(zf, f"{archive_name}/data.pkl", pickle_bytes)
        zf.writestr(f"{archive_name}/.format_version", "1")
        zf.writestr(f"{archive_name}/byteorder", "little")
        for key, data in storages.items():
            _write_record(zf, f"{archive_name}/data/{key}", data)
        zf.writestr(f"{archive_name}/version", "3\n")


def save_torch_state_dict(state: dict[str, Entry], path: str | os.PathLike,
                          archive_name: str = "archive") -> None:
    """Write ``state`` as ``torch.save(OrderedDict(state), path)`` would.

    Args:
        state: name -> ndarray (own storage), :class:`BFloat16` or :class:`View` of an earlier entry.
        path: output file.
        archive_name: the archive's top folder (torch uses the file's stem).
    """
    p = PickleBuilder()
    storages: list[bytes] = []
    owners: dict[str, tuple[str, str, int]] = {}  # entry -> (storage type, key, numel)
    p.empty_ordered_dict()
    p.op(b"(")  # MARK for SETITEMS
    for name, value in state.items():
        if isinstance(value, View):
            stype, key, numel = owners[value.source]
            offset, size, stride = value.offset, tuple(value.size), tuple(value.stride)
        else:
            stype, data, numel = _storage_of(value)
            key = str(len(storages))
            storages.append(data)
            size = tuple(np.shape(value.values if isinstance(value, BFloat16) else value))
            offset, stride = 0, _contiguous_strides(size)
        owners[name] = (stype, key, numel)
        p.str_(name)
        emit_tensor(p, stype, key, numel, offset, size, stride)
    p.op(b"u.")  # SETITEMS, STOP
    _write_zip(path, archive_name, bytes(p.out), storages)


def write_malicious_bin(path: str | os.PathLike, marker_path: str | os.PathLike,
                        global_name: str = "os.system", archive_name: str = "archive") -> None:
    """Write a torch-format file whose pickle calls ``global_name`` to create ``marker_path``.

    After one harmless tensor, the state dict's second value is ``global_name(payload)``:
    a shell ``touch`` for ``*.system``, Python source for ``builtins.exec``/``eval``.
    Loading it with plain ``pickle``/``torch.load(weights_only=False)`` would create the marker.
    """
    module, _, name = global_name.rpartition(".")
    marker = os.fspath(marker_path)
    if name in ("exec", "eval"):
        payload = f"open({marker!r}, 'w').close()"
    else:
        payload = f"touch {shlex.quote(marker)}"
    p = PickleBuilder()
    p.empty_ordered_dict()
    p.op(b"(")
    p.str_("ok.weight")
    emit_tensor(p, "FloatStorage", "0", 2, 0, (2,), (1,))
    p.str_("evil")
    p.global_(module, name)
    p.op(b"(")
    p.str_(payload)
    p.op(b"tR")  # global_name(payload)
    p.op(b"u.")
    _write_zip(path, archive_name, bytes(p.out), [np.arange(2, dtype="<f4").tobytes()])
