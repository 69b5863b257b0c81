"""Writes a PyTorch-style BERT state dict in the Hugging Face file formats (test helper)."""

import os
import re

import h5py
from safetensors.numpy import save_file

from tests.torch_bin_writer import save_torch_state_dict

TF_ROOT = "tf_bert_model/bert/"


def _tf_name(key):
    """`encoder.layer.0.attention.self.query.weight` -> HF TF name and whether to transpose."""
    parts = re.sub(r"layer\.(\d+)\.", r"layer_#\1.", key).split(".")
    parts = [p.replace("layer_#", "layer_._") for p in parts]
    leaf, parents = parts[-1], parts[:-1]
    if parents[-1] in ("word_embeddings",):
        return TF_ROOT + "/".join(parents) + "/weight:0", False
    if parents[-1] in ("position_embeddings", "token_type_embeddings"):
        return TF_ROOT + "/".join(parents) + "/embeddings:0", False
    if parents[-1] == "LayerNorm":
        return TF_ROOT + "/".join(parents) + ("/gamma:0" if leaf == "weight" else "/beta:0"), False
    return TF_ROOT + "/".join(parents) + ("/kernel:0" if leaf == "weight" else "/bias:0"), leaf == "weight"


def write_safetensors(state, directory, prefix="bert."):
    save_file({prefix + k: v for k, v in state.items()}, os.path.join(directory, "model.safetensors"))


def write_torch_bin(state, directory, prefix="bert."):
    save_torch_state_dict({prefix + k: v for k, v in state.items()},
                          os.path.join(directory, "pytorch_model.bin"))


def write_tf_h5(state, directory, num_heads=None):
    """HF TF layout (`save_weights` h5). With `num_heads`, q/k/v and attention-output
    kernels use the older EinsumDense shapes (in, heads, size) and (heads, size, out)."""
    names = []
    with h5py.File(os.path.join(directory, "tf_model.h5"), "w") as f:
        group = f.create_group("bert")
        for key, value in state.items():
            name, transpose = _tf_name(key)
            value = value.T if transpose else value
            if num_heads and re.search(r"attention\.(self\.(query|key|value)|output\.dense)", key):
                hidden = value.shape[-1] if not key.endswith("bias") else value.shape[0]
                if key.endswith("bias") and "self." in key:
                    value = value.reshape(num_heads, -1)
                elif key.endswith("weight") and "self." in key:
                    value = value.reshape(value.shape[0], num_heads, -1)
                elif key.endswith("weight"):
                    value = value.reshape(num_heads, -1, hidden)
            group.create_dataset(name, data=value)
            names.append(name.encode())
        group.attrs["weight_names"] = names
        f.attrs["layer_names"] = [b"bert"]
