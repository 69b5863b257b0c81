"""Lines of a UTF-8 text file, read one at a time so that memory does not grow with the file."""

import os

from nlu_tf.errors import InputError


def iter_lines(path, max_line_bytes=None):
    """Yields the lines of a UTF-8 text file without line endings (LF or CRLF).

    A leading byte order mark is dropped; a last line without a newline is kept; an empty
    file gives no line. A line that is not UTF-8 raises `InputError` naming its number.

    Args:
        path: the file.
        max_line_bytes: None, or the longest line allowed (in bytes, line ending excluded):
            a longer one raises `InputError` once that many bytes are read, so a file
            without newlines never has to fit in memory.
    """
    if not os.path.exists(path) or os.path.isdir(path):
        raise InputError(path, "file not found")
    with open(path, "rb") as f:
        raws = iter(f) if max_line_bytes is None else _bounded(f, path, max_line_bytes)
        for number, raw in enumerate(raws, 1):
            if raw.endswith(b"\n"):
                raw = raw[:-1]
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                raise InputError(path, f"not UTF-8 (byte 0x{raw[error.start]:02x})",
                                 number) from None
            if number == 1 and line.startswith("\ufeff"):
                line = line[1:]
            yield line[:-1] if line.endswith("\r") else line


def _bounded(f, path, limit):
    """The raw lines of `f`, each read at most `limit` + 2 bytes at a time (room for CRLF)."""
    number = 0
    while True:
        raw = f.readline(limit + 2)
        if not raw:
            return
        number += 1
        content = raw[:-1] if raw.endswith(b"\n") else raw
        content = content[:-1] if content.endswith(b"\r") else content
        if len(content) > limit:
            raise InputError(path, f"line longer than {limit} bytes", number)
        yield raw
