"""The command lines of nlu_tf: absl flags -> library calls, nothing else.

Each module is one command (`nlu-<name>`, declared in setup.cfg; `python tools/<name>.py`
runs the same). The library package `nlu_tf` never reads flags.
"""
