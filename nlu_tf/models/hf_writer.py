"""Writes a `BertEncoder` as a Hugging Face BERT directory: `config.json`, `vocab.txt`,
`tokenizer_config.json` and `model.safetensors`.

The tensors are named as transformers' `BertModel` saves them (`embeddings.…`,
`encoder.layer.N.…`, `pooler.…`, no `bert.` prefix) in PyTorch layouts (a Dense weight is
(out, in)). The names come from `checkpoint.encoder_key_table`, the table the import
reads, so whatever is written here reads back into the same variables.
"""

import os
import shutil

import numpy as np

from nlu_tf.io_utils import atomic_dir, write_json
from nlu_tf.models.checkpoint import encoder_key_table
from nlu_tf.models.encoder_config import HF_NAMES
from nlu_tf.models.shared_rows import full_token_table


def hf_state(encoder):
    """{BertModel key: float32 numpy array in PyTorch layout} of a built `BertEncoder`; a
    shared token table (`embedding_rows`) is written expanded, one row per vocabulary id."""
    state = {key: np.ascontiguousarray(variable.numpy().T if transpose else variable.numpy(),
                                       dtype=np.float32)
             for key, (variable, transpose) in encoder_key_table(encoder).items()}
    if encoder.token_row_map is not None:
        state["embeddings.word_embeddings.weight"] = np.ascontiguousarray(
            full_token_table(encoder), dtype=np.float32)
    return state


def hf_config(encoder, tokenizer):
    """The Hugging Face `config.json` of `encoder` (BERT keys, `model_type` "bert")."""
    # embedding_size is written only when set (a factorised table, which BertModel cannot
    # load; nlu_tf reads it back).
    config = {HF_NAMES[key]: value for key, value in encoder.get_config().items()
              if key in HF_NAMES and value is not None}
    config.update({"model_type": "bert", "architectures": ["BertModel"],
                   "pad_token_id": tokenizer.pad_id, "position_embedding_type": "absolute",
                   "initializer_range": 0.02})
    return config


def save_hf_encoder(encoder, tokenizer, path, extra_json=None, extra_dirs=()):
    """Writes `encoder` and its `tokenizer` as a Hugging Face BERT directory, atomically.

    Args:
        encoder: a built `BertEncoder`.
        tokenizer: its `WordPieceTokenizer` (vocabulary and lower-casing).
        path: the directory; an existing one is replaced.
        extra_json: {file name: JSON-ready object} written beside (run metrics, settings).
        extra_dirs: folders copied in (missing ones skipped), e.g. TensorBoard events.
    """
    from safetensors.numpy import save_file

    with atomic_dir(path, "checkpoint_hf") as tmp:
        write_json(os.path.join(tmp, "config.json"), hf_config(encoder, tokenizer))
        write_json(os.path.join(tmp, "tokenizer_config.json"),
                   {"do_lower_case": tokenizer.lower_case, "tokenizer_class": "BertTokenizer"})
        with open(os.path.join(tmp, "vocab.txt"), "w", encoding="utf-8") as f:
            f.write("\n".join(tokenizer.vocab) + "\n")
        # transformers refuses a safetensors file whose metadata does not name a framework.
        save_file(hf_state(encoder), os.path.join(tmp, "model.safetensors"),
                  metadata={"format": "pt"})
        for name, content in (extra_json or {}).items():
            write_json(os.path.join(tmp, name), content)
        for source in extra_dirs:
            if os.path.isdir(source):
                shutil.copytree(source, os.path.join(tmp, os.path.basename(source)))
    return path
