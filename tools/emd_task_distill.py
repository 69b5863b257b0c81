#!/usr/bin/env python3
"""BERT-EMD task distillation with the command line of the BERT-EMD reference workflow.

The same as the `nlu-emd-task-distill` command (nlu_cli/emd_task_distill.py); `--help` lists the flags.
"""

from nlu_cli.emd_task_distill import entry

if __name__ == "__main__":
    entry()
