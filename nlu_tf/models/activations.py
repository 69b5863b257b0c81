"""Feed-forward activations by their Hugging Face `hidden_act` names."""

from keras import ops


def _gelu_tanh(x):
    return ops.gelu(x, approximate=True)


def _gelu_erf(x):
    # The exact form; the TFLite converter fuses it into one builtin GELU op.
    return ops.gelu(x, approximate=False)


_ACTIVATIONS = {
    "gelu": _gelu_erf,
    "gelu_new": _gelu_tanh,
    "gelu_pytorch_tanh": _gelu_tanh,
    "relu": ops.relu,
}


def get_activation(name):
    """Returns the activation function for a Hugging Face `hidden_act` name."""
    if name not in _ACTIVATIONS:
        raise ValueError(f"unsupported activation {name!r} (supported: {', '.join(_ACTIVATIONS)})")
    return _ACTIVATIONS[name]

ACTIVATION_NAMES = tuple(_ACTIVATIONS)
