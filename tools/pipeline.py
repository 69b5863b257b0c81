#!/usr/bin/env python3
"""Dataset to evaluated TFLite student in one resumable command.

The same as the `nlu-pipeline` command (nlu_cli/pipeline.py); `--help` lists the flags.
"""

from nlu_cli.pipeline import entry

if __name__ == "__main__":
    entry()
