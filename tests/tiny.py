"""Builders of tiny random checkpoints and datasets for the tests (nothing is downloaded)."""

import collections
import json
import os
import shutil
import string

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SNIPS = os.path.join(REPO, "data", "snips")
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
TINY_CONFIG = {"vocab_size": None, "hidden_size": 32, "num_hidden_layers": 2,
               "num_attention_heads": 4, "intermediate_size": 64, "hidden_act": "gelu",
               "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
               "max_position_embeddings": 64, "type_vocab_size": 2, "layer_norm_eps": 1e-12,
               "model_type": "bert", "architectures": ["BertModel"]}


def tiny_vocab(words=200):
    """Specials, single characters (+ ## forms) and the most frequent Snips training words."""
    chars = string.ascii_lowercase + string.digits + string.punctuation
    with open(os.path.join(SNIPS, "train", "seq.in"), encoding="utf-8") as f:
        counts = collections.Counter(w.lower() for line in f for w in line.split())
    frequent = [w for w, _ in counts.most_common() if w not in chars][:words]
    return SPECIALS + list(chars) + ["##" + c for c in chars] + frequent


def random_bert_state(config, seed=0):
    """A random BERT state dict in PyTorch naming and layouts (weight = (out, in))."""
    rng = np.random.default_rng(seed)
    h, i = config["hidden_size"], config["intermediate_size"]

    def w(*shape):
        return rng.normal(0, 0.05, shape).astype(np.float32)

    state = {
        "embeddings.word_embeddings.weight": w(config["vocab_size"], h),
        "embeddings.position_embeddings.weight": w(config["max_position_embeddings"], h),
        "embeddings.token_type_embeddings.weight": w(config["type_vocab_size"], h),
        "embeddings.LayerNorm.weight": 1 + w(h), "embeddings.LayerNorm.bias": w(h),
        "pooler.dense.weight": w(h, h), "pooler.dense.bias": w(h),
    }
    for n in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{n}."
        for name in ("attention.self.query", "attention.self.key", "attention.self.value",
                     "attention.output.dense"):
            state[p + name + ".weight"], state[p + name + ".bias"] = w(h, h), w(h)
        state[p + "intermediate.dense.weight"], state[p + "intermediate.dense.bias"] = w(i, h), w(i)
        state[p + "output.dense.weight"], state[p + "output.dense.bias"] = w(h, i), w(h)
        for name in ("attention.output.LayerNorm", "output.LayerNorm"):
            state[p + name + ".weight"], state[p + name + ".bias"] = 1 + w(h), w(h)
    return state


def random_mlm_head_state(config, seed=1):
    """A random masked-LM head (`cls.predictions.*`), decoder tied to the word embeddings."""
    rng = np.random.default_rng(seed)
    h, v = config["hidden_size"], config["vocab_size"]
    return {"cls.predictions.transform.dense.weight": rng.normal(0, 0.2, (h, h)).astype(np.float32),
            "cls.predictions.transform.dense.bias": rng.normal(0, 0.05, h).astype(np.float32),
            "cls.predictions.transform.LayerNorm.weight": (1 + rng.normal(0, 0.05, h)).astype(np.float32),
            "cls.predictions.transform.LayerNorm.bias": rng.normal(0, 0.05, h).astype(np.float32),
            "cls.predictions.bias": rng.normal(0, 0.05, v).astype(np.float32)}


def write_tiny_bert(directory, seed=0, mlm_head=None, **overrides):
    """Writes config.json, vocab.txt and model.safetensors of a tiny random BERT.

    `mlm_head`, a dict of `cls.predictions.*` tensors (see `random_mlm_head_state`), is
    stored beside the encoder weights.
    """
    from safetensors.numpy import save_file

    os.makedirs(directory, exist_ok=True)
    vocab = tiny_vocab()
    config = {**TINY_CONFIG, "vocab_size": len(vocab), **overrides}
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(config, f)
    with open(os.path.join(directory, "vocab.txt"), "w") as f:
        f.write("\n".join(vocab) + "\n")
    with open(os.path.join(directory, "tokenizer_config.json"), "w") as f:
        json.dump({"do_lower_case": True}, f)
    state = {"bert." + k: v for k, v in random_bert_state(config, seed).items()}
    state.update(mlm_head or {})
    save_file(state, os.path.join(directory, "model.safetensors"))
    return directory


def write_tiny_dataset(directory, train=64, dev=32, test=32, source=SNIPS):
    """Copies the first lines of each split of a dataset (Snips by default) into `directory`."""
    os.makedirs(directory, exist_ok=True)
    for name in ("intent_label.txt", "slot_label.txt"):
        shutil.copy(os.path.join(source, name), directory)
    for split, count in (("train", train), ("dev", dev), ("test", test)):
        os.makedirs(os.path.join(directory, split), exist_ok=True)
        for name in ("seq.in", "seq.out", "label"):
            with open(os.path.join(source, split, name), encoding="utf-8") as f:
                lines = f.readlines()[:count]
            with open(os.path.join(directory, split, name), "w", encoding="utf-8") as f:
                f.writelines(lines)
    return directory
