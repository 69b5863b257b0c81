#!/usr/bin/env python3
"""Golden vectors of an export folder, for a client's tokenizer and decoder to match.

The same as the `nlu-golden-vectors` command (nlu_cli/golden_vectors.py); `--help` lists the flags.
"""

from nlu_cli.golden_vectors import entry

if __name__ == "__main__":
    entry()
