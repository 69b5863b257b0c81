#!/usr/bin/env python3
"""Evaluates a distilled student with the command line of the TinyBERT / BERT-EMD workflows.

The same as the `nlu-task-distill` command (nlu_cli/task_distill.py); `--help` lists the flags.
"""

from nlu_cli.task_distill import entry

if __name__ == "__main__":
    entry()
