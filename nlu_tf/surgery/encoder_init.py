"""BERT's initialisation of a new `BertEncoder`: what a student of a new shape starts from."""

import numpy as np

from nlu_tf.model_io.hf_encoder import encoder_key_table

INITIALIZER_RANGE = 0.02


def init_bert_weights(encoder, seed, stddev=INITIALIZER_RANGE):
    """Sets every weight as BERT initialises it: dense kernels and embeddings from a normal
    of `stddev` truncated at two standard deviations (the original TensorFlow BERT's
    `truncated_normal_initializer`), biases 0, layer-norm scales 1 and shifts 0.

    Keras' own defaults (Glorot kernels, uniform embeddings) give other scales, which
    matter to a student distilled from scratch.
    """
    rng = np.random.default_rng(seed)
    for key, (variable, _) in sorted(encoder_key_table(encoder).items()):
        shape = tuple(variable.shape)
        if key.endswith("LayerNorm.weight"):
            value = np.ones(shape)
        elif key.endswith(".bias"):
            value = np.zeros(shape)
        else:
            value = rng.standard_normal(shape)
            outside = np.abs(value) > 2.0
            while outside.any():
                value[outside] = rng.standard_normal(int(outside.sum()))
                outside = np.abs(value) > 2.0
            value *= stddev
        variable.assign(value.astype(np.float32))
