"""Lines of a UTF-8 text file, read one at a time so that memory does not grow with the file."""

import os

from nlu_tf.errors import InputError


def iter_lines(path):
    """Yields the lines of a UTF-8 text file without line endings (LF or CRLF).

    A leading byte order mark is dropped; a last line without a newline is kept; an empty
    file gives no line. A line that is not UTF-8 raises `InputError` naming its number.
    """
    if not os.path.exists(path) or os.path.isdir(path):
        raise InputError(path, "file not found")
    with open(path, "rb") as f:
        for number, raw in enumerate(f, 1):
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
