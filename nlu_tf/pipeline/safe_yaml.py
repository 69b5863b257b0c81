"""YAML for recipes: UTF-8, bounded in size, and without aliases.

A recipe is a few dozen keys. Aliases are refused because nested ones (the "billion
laughs" document) expand to gigabytes as soon as anything walks the value.
"""

import os

import yaml

from nlu_tf.errors import InputError

MAX_BYTES = 1 << 20


class _AliasFound(yaml.YAMLError):
    def __init__(self, line):
        super().__init__(f"alias on line {line}")
        self.line = line


class _NoAliasLoader(yaml.SafeLoader):
    """`yaml.SafeLoader` that refuses aliases (`*name`)."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.events.AliasEvent):
            raise _AliasFound(self.peek_event().start_mark.line + 1)
        return super().compose_node(parent, index)


def load_yaml(text, where):
    """Parses YAML `text` without aliases; an `InputError` naming `where` and the line if bad."""
    try:
        return yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 (a SafeLoader)
    except _AliasFound as error:
        raise InputError(where, "YAML aliases (*name) are not allowed in a recipe",
                         line=error.line) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = str(getattr(error, "problem", None) or error).splitlines()[0][:120]
        raise InputError(where, f"not valid YAML ({problem})",
                         line=mark.line + 1 if mark else None) from None


def parse_value(text):
    """One command-line value read as YAML (no aliases); the text itself if it is not YAML."""
    if not text.strip():
        return ""
    try:
        return yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 (a SafeLoader)
    except yaml.YAMLError:
        return text


def read_yaml_file(path):
    """Reads and parses the YAML file at `path` (UTF-8, at most `MAX_BYTES`)."""
    if not os.path.isfile(path):
        raise InputError(path, "recipe not found")
    with open(path, "rb") as f:
        raw = f.read(MAX_BYTES + 1)
    if len(raw) > MAX_BYTES:
        raise InputError(path, f"larger than {MAX_BYTES} bytes: not a recipe")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise InputError(path, f"not UTF-8 (byte 0x{raw[error.start]:02x})", line) from None
    return load_yaml(text, path)
