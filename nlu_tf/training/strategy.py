"""`tf.distribute` strategies by name."""

import tensorflow as tf


def make_strategy(name):
    """Returns the strategy for `default`, `mirrored` (all local devices) or `multi_worker`.

    `multi_worker` reads the cluster from the `TF_CONFIG` environment variable.
    """
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ValueError(f"unknown distribution strategy {name!r}")
