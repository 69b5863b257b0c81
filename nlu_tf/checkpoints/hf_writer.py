"""Writes a Hugging Face BERT directory: `config.json`, `vocab.txt`, `tokenizer_config.json`
and `model.safetensors`.

The tensors come as a canonical state dict (`hf_reader`'s form: named as transformers'
`BertModel` saves them, `embeddings.…`, `encoder.layer.N.…`, `pooler.…`, no `bert.`
prefix, in PyTorch layouts), so whatever is written here reads back through `hf_reader`.
`nlu_tf.model_io.hf_encoder.save_hf_encoder` makes that dict of a Keras `BertEncoder`.
"""

import os
import shutil

from nlu_tf.checkpoints.hf_names import HF_NAMES
from nlu_tf.io_utils import atomic_dir, write_json


def hf_config(encoder_config, tokenizer):
    """The Hugging Face `config.json` of `BertEncoder` arguments (BERT keys, `model_type`
    "bert"); `tokenizer` gives the padding id."""
    # embedding_size is written only when set (a factorised table, which BertModel cannot
    # load; nlu_tf reads it back).
    config = {HF_NAMES[key]: value for key, value in encoder_config.items()
              if key in HF_NAMES and value is not None}
    config.update({"model_type": "bert", "architectures": ["BertModel"],
                   "pad_token_id": tokenizer.pad_id, "position_embedding_type": "absolute",
                   "initializer_range": 0.02})
    return config


def write_hf_dir(state, encoder_config, tokenizer, path, extra_json=None, extra_dirs=()):
    """Writes a Hugging Face BERT directory at `path`, atomically.

    Args:
        state: {canonical key: float32 numpy array in PyTorch layout}.
        encoder_config: the `BertEncoder` arguments of the weights (`hf_config`).
        tokenizer: their `WordPieceTokenizer` (vocabulary and lower-casing).
        path: the directory; an existing one is replaced.
        extra_json: {file name: JSON-ready object} written beside (run metrics, settings).
        extra_dirs: folders copied in (missing ones skipped), e.g. TensorBoard events.
    """
    from safetensors.numpy import save_file

    with atomic_dir(path, "checkpoint_hf") as tmp:
        write_json(os.path.join(tmp, "config.json"), hf_config(encoder_config, tokenizer))
        write_json(os.path.join(tmp, "tokenizer_config.json"),
                   {"do_lower_case": tokenizer.lower_case, "tokenizer_class": "BertTokenizer"})
        with open(os.path.join(tmp, "vocab.txt"), "w", encoding="utf-8") as f:
            f.write("\n".join(tokenizer.vocab) + "\n")
        # transformers refuses a safetensors file whose metadata does not name a framework.
        save_file(state, os.path.join(tmp, "model.safetensors"), metadata={"format": "pt"})
        for name, content in (extra_json or {}).items():
            write_json(os.path.join(tmp, name), content)
        for source in extra_dirs:
            if os.path.isdir(source):
                shutil.copytree(source, os.path.join(tmp, os.path.basename(source)))
    return path
