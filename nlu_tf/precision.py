"""Mixed precision: the Keras dtype policy a run computes in, and whether XLA compiles it.

The policy is passed explicitly (`dtype=`) to the model builders; nothing here sets
Keras's global policy. Variables stay float32 under every policy, so saved and exported
models are float32 whatever the run trained in.
"""

from nlu_tf.choices import MixedPrecision, names

PRECISIONS = names(MixedPrecision)
JIT_AUTO = "auto"

# The default of `jit_compile` per precision. XLA's CPU backend does not use the
# AVX512-BF16 / AMX units that TensorFlow's oneDNN kernels use for bfloat16 (a (512 x 384)
# x (384 x 1536) bfloat16 matmul was reported at 774 GFLOP/s through oneDNN and 206 under
# XLA on a Sapphire Rapids CPU), and float16 has no fast CPU path under XLA either.
_AUTO_JIT = {MixedPrecision.FLOAT32.value: True, MixedPrecision.MIXED_BFLOAT16.value: False,
             MixedPrecision.MIXED_FLOAT16.value: False}


def check_precision(mixed_precision):
    """Returns `mixed_precision` if it names a policy of `PRECISIONS`, else a `ValueError`."""
    if mixed_precision not in PRECISIONS:
        raise ValueError(f"mixed_precision must be one of {', '.join(PRECISIONS)}, "
                         f"got {mixed_precision!r}")
    return mixed_precision


def check_jit_compile(choice):
    """Returns `choice` if it is True, False or "auto", else a `ValueError`."""
    if not (isinstance(choice, bool) or choice == JIT_AUTO):
        raise ValueError(f"jit_compile must be true, false or {JIT_AUTO}, got {choice!r}")
    return choice


def jit_compile_for(choice, mixed_precision):
    """Whether to XLA-compile: an explicit True / False wins; "auto" (or None) is XLA for
    float32 and oneDNN (no XLA) for mixed_bfloat16 and mixed_float16."""
    check_precision(mixed_precision)
    if choice is None or choice == JIT_AUTO:
        return _AUTO_JIT[mixed_precision]
    return check_jit_compile(choice)


def loss_scaled(mixed_precision):
    """True for float16, whose small gradients need loss scaling to stay representable."""
    return check_precision(mixed_precision) == MixedPrecision.MIXED_FLOAT16.value
