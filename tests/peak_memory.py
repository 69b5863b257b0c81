"""Peak memory of one call in a fresh Python, above the baseline of its imports (test helper).

The call runs in a subprocess; `VmHWM` (peak resident set) is read after the imports and
again after the call, so the difference is what the call itself touched at its worst.
"""

import json
import os
import subprocess
import sys

from tests.tiny import REPO

_SCRIPT = """
import importlib, json, sys
from nlu_tf.errors import InputError

def high_water_mark():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM:"))

module, name = sys.argv[1].rsplit(":", 1)
call = getattr(importlib.import_module(module), name)
base = high_water_mark()
try:
    call(sys.argv[2])
    error = None
except InputError as exc:
    error = str(exc)
print(json.dumps({"peak_bytes": high_water_mark() - base, "error": error}))
"""


def peak_of_call(target, argument, timeout=120):
    """Runs `module:function(argument)` in a subprocess.

    Returns:
        (bytes the peak resident set grew by during the call, the `InputError` text or None).
    """
    env = {**os.environ, "PYTHONPATH": REPO, "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run([sys.executable, "-c", _SCRIPT, target, str(argument)], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=timeout, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return result["peak_bytes"], result["error"]


def allocate(nbytes):
    """Touches `nbytes` of fresh memory (the control that shows the probe can see a load)."""
    import numpy as np

    return np.ones(int(nbytes), dtype=np.uint8)
