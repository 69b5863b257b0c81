#!/usr/bin/env python3
"""Pregenerates pretraining data for general distillation, with BERT-EMD's command line.

The same as the `nlu-pregenerate-training-data` command (nlu_cli/pregenerate_training_data.py); `--help` lists the flags.
"""

from nlu_cli.pregenerate_training_data import entry

if __name__ == "__main__":
    entry()
