"""Narrower feed-forward layers: a student that keeps, in each transformer layer, the
feed-forward neurons that carry the most weight.

Neuron j of a layer computes gelu(x · W_in[:, j] + b_in[j]) and adds it, times the row
W_out[j, :], to the layer's output. Its score is ||W_in[:, j]|| · ||W_out[j, :]||: how much
it can take in times how much it can give out. The layer keeps its `width` best neurons
(in their original order) and drops the others; the model so cut computes what the full
one computes with the dropped neurons' W_out rows set to zero. Most of a layer's compute
and weights are its feed-forward neurons (two thirds at the usual 4 × hidden width), so a
narrower layer buys depth at the same latency; stage 2.1 then distils the cut model.
"""

import numpy as np

LAYER_PATH = "encoder/transformer_layer_{}/"


def neuron_scores(inner_kernel, outer_kernel):
    """Scores of the feed-forward neurons of one layer: (I,) from `inner_kernel` (H, I)
    and `outer_kernel` (I, H)."""
    inner = np.linalg.norm(np.asarray(inner_kernel, np.float64), axis=0)
    outer = np.linalg.norm(np.asarray(outer_kernel, np.float64), axis=1)
    return inner * outer


def kept_neurons(scores, width):
    """Indices (ascending) of the `width` best-scoring neurons; ties go to the lower index."""
    order = np.argsort(-np.asarray(scores), kind="stable")
    return np.sort(order[:width])


def narrow_feed_forward(bundle, width):
    """A copy of a `ModelBundle` whose transformer layers keep `width` feed-forward neurons
    each (`kept_neurons` of `neuron_scores`); every other weight is copied unchanged.

    Raises:
        ValueError: `width` is not an integer in 1..intermediate_size - 1.
    """
    from nlu_tf.model_io.model_dir import ModelBundle
    from nlu_tf.models.joint_model import rebuilt_model

    old = bundle.model
    full = old.encoder.intermediate_size
    if type(width) is not int or not 0 < width < full:
        raise ValueError(f"intermediate_size must be an integer in 1..{full - 1} (below the "
                         f"model's {full}), got {width!r}")
    values = {}
    for index, layer in enumerate(old.encoder.transformer_layers):
        inner, outer = layer.intermediate.kernel.numpy(), layer.output_dense.kernel.numpy()
        kept = kept_neurons(neuron_scores(inner, outer), width)
        path = LAYER_PATH.format(index)
        values[path + "intermediate/kernel"] = inner[:, kept]
        values[path + "intermediate/bias"] = layer.intermediate.bias.numpy()[kept]
        values[path + "output/kernel"] = outer[kept, :]
    model = rebuilt_model(old, {**old.encoder_config, "intermediate_size": width}, values)
    return ModelBundle(model, bundle.tokenizer, bundle.labels, bundle.max_seq_len)
