"""A small nlu_tf model directory built without training (test helper)."""

import os

from tests.tiny import SNIPS, write_tiny_bert


def write_model_dir(root, max_seq_len=32):
    """Writes a tiny Hugging Face BERT under `root/hf` and a model directory on it at `root/model`."""
    from nlu_tf.data.reader import LabelMaps
    from nlu_tf.model_io.model_dir import from_pretrained, save_model_dir

    hf_dir = write_tiny_bert(os.path.join(root, "hf"))
    bundle = from_pretrained(hf_dir, LabelMaps.from_dir(SNIPS), max_seq_len)
    return save_model_dir(bundle, os.path.join(root, "model"))
