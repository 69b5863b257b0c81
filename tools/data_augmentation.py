#!/usr/bin/env python3
"""Label-preserving augmentation of a joint intent + slot training set (TinyBERT's flags).

The same as the `nlu-data-augmentation` command (nlu_cli/data_augmentation.py); `--help` lists the flags.
"""

from nlu_cli.data_augmentation import entry

if __name__ == "__main__":
    entry()
