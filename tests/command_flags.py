"""Imports command modules as their commands do and prints, as JSON, what they define:
each flag (name, type, default, help, enum values, short name, whether boolean and whether
required), and the settings a command line builds.

    echo '{"nlu_cli.data_augmentation": ["--data_dir=d", "--N=4"]}' | \
        python -m tests.command_flags

The modules define their flags on absl's global FLAGS at import, and two of them may
define the same name, which absl refuses: each module's flags are read, then deleted,
before the next is imported (one process for all, as a TensorFlow import is slow).
tests/fixtures/settings_before/commands.json is the flags part of this output before #46
item 3 was finished.
"""

import dataclasses
import importlib
import json
import sys

from absl import flags


def _described(flag):
    return {"type": flag.flag_type(), "default": flag.default, "help": flag.help,
            "enum_values": getattr(flag.parser, "enum_values", None),
            "short_name": flag.short_name, "boolean": flag.boolean,
            # mark_flag_as_required / required=True add this validator, nothing else does
            "required": any("must have a value other than None" in validator.message
                            for validator in flag.validators)}


def _builders():
    """{command module: what its `main` builds its settings with}."""
    from nlu_cli import settings_flags

    return {"nlu_cli.general_distill": settings_flags.GENERAL_FLAGS.settings,
            "nlu_cli.emd_task_distill": settings_flags.emd_settings_from_flags,
            "nlu_cli.data_augmentation": settings_flags.AUGMENT_FLAGS.settings,
            "nlu_cli.pregenerate_training_data": settings_flags.PREGENERATE_FLAGS.settings}


def _settings(module, argv):
    flags.FLAGS(["prog", *argv])
    try:
        return dataclasses.asdict(_builders()[module](flags.FLAGS.flag_values_dict()))
    finally:
        flags.FLAGS.unparse_flags()


def command_flags(command_lines):
    """{module: {"flags": {flag name: description}, "settings": the settings dict its
    command line builds}} of each module of `command_lines` ({module: argv})."""
    # Flags every command shares, not its own: absl's and those TensorFlow defines on import.
    importlib.import_module("nlu_cli.app")
    importlib.import_module("tensorflow")
    out = {}
    for module, argv in command_lines.items():
        before = set(flags.FLAGS)
        importlib.import_module(module)
        names = sorted(set(flags.FLAGS) - before)
        out[module] = {"flags": {name: _described(flags.FLAGS[name]) for name in names
                                 if flags.FLAGS[name].name == name},  # not a short alias
                       "settings": _settings(module, argv)}
        for name in names:
            delattr(flags.FLAGS, name)
    return out


if __name__ == "__main__":
    print(json.dumps(command_flags(json.load(sys.stdin)), sort_keys=True))
