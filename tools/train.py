#!/usr/bin/env python3
"""Trains one stage: fine-tune a teacher (2.0), distil a student (2.1, 2.2 / --pred_distill).

The same as the `nlu-train` command (nlu_cli/train.py); `--help` lists the flags.
"""

from nlu_cli.train import entry

if __name__ == "__main__":
    entry()
