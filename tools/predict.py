#!/usr/bin/env python3
"""Predicts intent and slots for raw text: every line of a file, or one query.

The same as the `nlu-predict` command (nlu_cli/predict.py); `--help` lists the flags.
"""

from nlu_cli.predict import entry

if __name__ == "__main__":
    entry()
