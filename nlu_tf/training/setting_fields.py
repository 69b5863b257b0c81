"""A setting declared once: its default, help, recipe key, command-line flag, choices and
check are the metadata of its dataclass field, and everything else is derived from them.

The command lines define their flags from the fields (nlu_cli.settings_flags), a recipe's
sections take their keys and defaults from them (nlu_tf.pipeline.recipe), each settings
dataclass checks its own fields with `check_fields`, and a stored settings dict is read
back with `from_stored`: settings moved since it was written are found by their flag
names, settings added since take their defaults.
"""

import dataclasses
import math

from nlu_tf.errors import quote

NO_FLAG = ""  # the `flag` of a setting no command line sets


def setting(default, help, *, key=None, flag=None, choices=None, check=None, compared=True,
            flag_type=None):
    """A settings dataclass field with its documentation.

    Args:
        default: the default value (a tuple for a list of strings).
        help: what the setting does, as `--help` prints it.
        key: its name in a recipe section and in messages, if not the field's name.
        flag: its command-line flag, if not `key`; `NO_FLAG`: no command line sets it.
        choices: the values it may take (an enum flag; checked by `check_fields`).
        check: `(predicate, wanted)`: a value the predicate refuses is a `ValueError`
            "<key> must be <wanted>, got <value>".
        compared: False for a setting that never changes what a run computes, or a
            function of the settings holding it that gives what it means (e.g. "auto"
            resolved), which the settings of two runs compare (`compared_values`).
        flag_type: `bool` for a True / False flag of a setting whose default is not a
            bool: left unset, the setting keeps its default.
    """
    return dataclasses.field(default=default, metadata={
        "help": help, "key": key, "flag": flag, "choices": choices, "check": check,
        "compared": compared, "flag_type": flag_type})


def section(cls):
    """A field holding the nested settings dataclass `cls` (its default: `cls()`)."""
    return dataclasses.field(default_factory=cls, metadata={"section": cls})


def key_of(field):
    """A setting's recipe key: its `key`, else the field's name."""
    return field.metadata.get("key") or field.name


def flag_of(field):
    """A setting's command-line flag: its `flag`, else its key ("" for `NO_FLAG`)."""
    flag = field.metadata.get("flag")
    return key_of(field) if flag is None else flag


def help_of(cls, name):
    """The help of setting `name` of the dataclass `cls`: another settings dataclass's
    setting that means the same takes its words from there."""
    return own_fields(cls)[name].metadata["help"]


@dataclasses.dataclass(frozen=True)
class Leaf:
    """One setting of a settings tree: the field names that lead to it, and its field."""

    path: tuple
    field: dataclasses.Field

    @property
    def key(self):
        return key_of(self.field)

    @property
    def flag(self):
        return flag_of(self.field)


def leaves(cls, path=()):
    """Every setting of the dataclass `cls`, nested sections walked in field order."""
    for field in dataclasses.fields(cls):
        if "section" in field.metadata:
            yield from leaves(field.metadata["section"], path + (field.name,))
        else:
            yield Leaf(path + (field.name,), field)


def own_fields(cls):
    """The fields of `cls` that are settings (not nested sections), by name."""
    return {f.name: f for f in dataclasses.fields(cls) if "section" not in f.metadata}


def defaults(fields):
    """{key: default} of settings fields, tuples as lists (a recipe section's form)."""
    return {key_of(field): _listed(field.default) for field in fields}


def _listed(value):
    return list(value) if isinstance(value, tuple) else value


def fields_from(cls, values):
    """{field name: value} of the fields of `cls` whose key is in `values` (a recipe
    section, a flat dict), lists as tuples: keyword arguments of `cls`."""
    return {name: _tupled(field, values[key_of(field)])
            for name, field in own_fields(cls).items() if key_of(field) in values}


def _tupled(field, value):
    return tuple(value) if isinstance(field.default, tuple) and isinstance(value, list) else value


def build(cls, values):
    """`cls` from a nested dict {field name: value or nested dict}; absent fields take
    their defaults."""
    kwargs = {}
    for field in dataclasses.fields(cls):
        if field.name not in values:
            continue
        value = values[field.name]
        if "section" in field.metadata:
            value = build(field.metadata["section"], value)
        kwargs[field.name] = _tupled(field, value)
    return cls(**kwargs)


def _nest(pairs):
    """{path tuple: value} -> the nested dict."""
    nested = {}
    for path, value in pairs.items():
        node = nested
        for name in path[:-1]:
            node = node.setdefault(name, {})
        node[path[-1]] = value
    return nested


def from_flags(cls, values):
    """The nested dict (`build`'s input) of the settings of `cls` that a dict of flag
    values sets; a `flag_type` flag left unset (None) leaves its default."""
    return _nest({leaf.path: values[leaf.flag] for leaf in leaves(cls)
                  if leaf.flag and leaf.flag in values and values[leaf.flag] is not None})


def _flattened(value, path=()):
    if not isinstance(value, dict):
        return {path: value}
    out = {}
    for key, item in value.items():
        out.update(_flattened(item, path + (key,)))
    return out


def from_stored(cls, stored):
    """A stored settings dict (a run's settings.json, a checkpoint's, a pipeline's) read
    back as `cls`.

    Each setting is read at its place; one written before it moved (e.g. a flat
    `trim_vocab` now in a section) under its flag name (its key if it has no flag),
    wherever that is; one written before it existed takes its default.

    Returns:
        (settings, unread): the settings, and {dotted key: value} of what was stored
        that no setting reads.

    Raises:
        ValueError: the stored values are not valid settings.
    """
    flat = _flattened(stored)
    wanted = list(leaves(cls))
    found = {leaf.path: leaf.path for leaf in wanted if leaf.path in flat}
    by_flag = {path[-1]: path for path in flat if path not in found}
    found.update({leaf.path: by_flag[leaf.flag or leaf.key] for leaf in wanted
                  if leaf.path not in found and (leaf.flag or leaf.key) in by_flag})
    read = set(found.values())
    unread = {".".join(path): value for path, value in flat.items() if path not in read}
    return build(cls, _nest({leaf: flat[path] for leaf, path in found.items()})), unread


def compared_values(settings):
    """The nested dict of what the settings of two runs compare: every field but those
    `compared=False`, a `compared` function's result for the others that have one."""
    out = {}
    for field in dataclasses.fields(settings):
        value = getattr(settings, field.name)
        compared = field.metadata.get("compared", True)
        if compared is False:
            continue
        if "section" in field.metadata:
            value = compared_values(value)
        elif callable(compared):
            value = compared(settings)
        out[field.name] = _listed(value)
    return out


def check_fields(settings):
    """Raises a `ValueError` for the first field of `settings` (a dataclass; nested
    sections check themselves) outside its `choices` or refused by its `check`."""
    for name, field in own_fields(type(settings)).items():
        value, choices, check = getattr(settings, name), field.metadata.get("choices"), \
            field.metadata.get("check")
        if choices is not None and value not in choices:
            raise ValueError(f"{key_of(field)} must be one of "
                             f"{', '.join(str(c) for c in choices)}, got {quote(value)}")
        if check is not None and not check[0](value):
            raise ValueError(f"{key_of(field)} must be {check[1]}, got {quote(value)}")


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def at_least(low, wanted):
    """The check of an integer setting of at least `low` (`wanted` says so in words)."""
    return (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= low, wanted)


# Checks shared by many settings.
FINITE_POSITIVE = (lambda v: _number(v) and v > 0, "a finite number > 0")
FINITE_NON_NEGATIVE = (lambda v: _number(v) and v >= 0, "a finite number >= 0")
SHARE = (lambda v: _number(v) and 0 <= v < 1, "in [0, 1)")
POSITIVE = at_least(1, "positive")
NON_NEGATIVE = at_least(0, ">= 0")
PATHS = (lambda v: isinstance(v, tuple) and all(isinstance(p, str) and p for p in v),
         "a tuple of file paths")
