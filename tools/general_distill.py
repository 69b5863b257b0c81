#!/usr/bin/env python3
"""TinyBERT general distillation with BERT-EMD's command line.

The same as the `nlu-general-distill` command (nlu_cli/general_distill.py); `--help` lists the flags.
"""

from nlu_cli.general_distill import entry

if __name__ == "__main__":
    entry()
