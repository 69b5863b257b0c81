#!/usr/bin/env python3
"""Exports a model directory: a SavedModel for servers and `.tflite` folders for Android.

The same as the `nlu-convert` command (nlu_cli/convert.py); `--help` lists the flags.
"""

from nlu_cli.convert import entry

if __name__ == "__main__":
    entry()
