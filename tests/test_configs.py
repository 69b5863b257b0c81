"""Every flagfile in configs/ parses into valid run settings."""

import glob
import os

import pytest
from absl import flags

from nlu_cli.settings_flags import define_train_flags, settings_from_flags
from tests.tiny import REPO

FLAGFILES = sorted(glob.glob(os.path.join(REPO, "configs", "*.flags")))


@pytest.mark.parametrize("path", FLAGFILES, ids=os.path.basename)
def test_flagfile_gives_valid_settings(path):
    values = flags.FlagValues()
    define_train_flags(values)
    values(["train.py", f"--flagfile={path}"])
    settings = settings_from_flags(values.flag_values_dict())
    assert settings.data.task in os.path.basename(path) or "demo" in path
    assert settings.stage == "2.0" and settings.num_train_epochs >= 1


def test_the_teacher_flagfiles_of_both_datasets_exist():
    names = [os.path.basename(path) for path in FLAGFILES]
    assert "snips_teacher.flags" in names and "atis_teacher.flags" in names
