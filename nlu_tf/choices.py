"""The closed sets of names that settings, recipes and command lines choose from.

Each is a `str` enum: a member equals its value (`LayerMapping.EMD == "emd"`), so settings
hold plain strings, JSON stays plain, and flags, recipe checks and validation all read
their choices from here (`names(LayerMapping)`).
"""

import enum


class Stage(str, enum.Enum):
    """Training stages: fine-tuning (2.0), intermediate layers (2.1), predictions (2.2)."""

    FINE_TUNE = "2.0"
    INTERMEDIATE = "2.1"
    PREDICTION = "2.2"


class LayerMapping(str, enum.Enum):
    """Which teacher layers a student layer learns from: TinyBERT's or BERT-EMD's."""

    UNIFORM = "uniform"
    EMD = "emd"


class EmdWeightUpdate(str, enum.Enum):
    """BERT-EMD's layer-weight update: softmax of the cost attention, or sum-normalised."""

    SOFTMAX = "softmax"
    SUM = "sum"


class FallbackCharacters(str, enum.Enum):
    """Which single-character pieces vocabulary trimming keeps: all, or Latin-script ones
    plus those the data uses."""

    ALL = "all"
    LATIN = "latin"


class Strategy(str, enum.Enum):
    """`tf.distribute` strategies a run can take."""

    DEFAULT = "default"
    MIRRORED = "mirrored"
    MULTI_WORKER = "multi_worker"


class MixedPrecision(str, enum.Enum):
    """Keras dtype policies a run can compute in (variables stay float32 in all three)."""

    FLOAT32 = "float32"
    MIXED_BFLOAT16 = "mixed_bfloat16"
    MIXED_FLOAT16 = "mixed_float16"


def names(choice):
    """The values of an enum, in order (for flags, recipe checks and messages)."""
    return tuple(member.value for member in choice)
