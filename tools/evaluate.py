#!/usr/bin/env python3
"""Scores a model on a labelled split: intent accuracy, slot F1 / P / R, sentence accuracy.

The same as the `nlu-evaluate` command (nlu_cli/evaluate.py); `--help` lists the flags.
"""

from nlu_cli.evaluate import entry

if __name__ == "__main__":
    entry()
