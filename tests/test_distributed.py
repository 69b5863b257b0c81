"""Training under MirroredStrategy on two logical CPU devices equals training on one device."""

import json
import os
import subprocess
import sys

from tests.tiny import REPO


def test_two_replicas_match_one_device_for_fine_tuning_and_emd(tmp_path):
    script = os.path.join(REPO, "tests", "distributed_check.py")
    result = subprocess.run([sys.executable, script, str(tmp_path)], capture_output=True,
                            text=True, timeout=600, cwd=REPO)
    lines = [l for l in result.stdout.splitlines() if l.startswith("RESULT ")]
    assert result.returncode == 0 and lines, result.stderr[-3000:]
    report = json.loads(lines[0][len("RESULT "):])
    for stage in ("2.0", "2.1"):
        row = report[stage]
        assert abs(row["loss_one_device"] - row["loss_two_devices"]) < 1e-5, row
        assert row["max_weight_diff"] < 1e-5, row
    one, two = report["emd_weights_one_device"], report["emd_weights_two_devices"]
    for name in one:
        assert max(abs(a - b) for a, b in zip(one[name], two[name])) < 1e-5, (one, two)
    assert one["teacher_hid"] != [0.5, 0.5]  # the weights did move
