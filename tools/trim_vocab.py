#!/usr/bin/env python3
"""Trims a model directory's vocabulary to the pieces its data uses (a smaller embedding).

The same as the `nlu-trim-vocab` command (nlu_cli/trim_vocab.py); `--help` lists the flags.
"""

from nlu_cli.trim_vocab import entry

if __name__ == "__main__":
    entry()
