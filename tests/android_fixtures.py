"""Two export folders for the Java client's golden test: `python -m tests.android_fixtures OUT`.

The Java tokenizer and decoder read only an export folder's `vocab.txt`, `model_info.json`
and label files, so these folders hold just those:

- `OUT/uncased`: the embedded teacher's vocabulary (bert-base-uncased, lower-casing), the
  Snips labels, max_seq_len 50;
- `OUT/cased`: a cased vocabulary made from it (capitalised and upper-case forms of its
  first words, accented and Greek letters), no lower-casing, the ATIS labels, max_seq_len
  32 so that more utterances are truncated.
"""

import os
import shutil
import sys

from nlu_tf.io_utils import write_json

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(os.path.dirname(HERE), "data")
EXTRA_LETTERS = "àáâäãåçèéêëìíîïñòóôöõøùúûüýÿßαβγδεζηθικλμνξοπρσςτυφχψωάέήίόύώ"


def _uncased_vocab():
    from nlu_tf.defaults import default_teacher_dir

    with open(os.path.join(default_teacher_dir(), "vocab.txt"), encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f]


def cased_vocab(vocab, words=8000):
    """`vocab` plus cased forms of its first whole words and single cased letters."""
    added = []
    for token in vocab[:words]:
        stem = token[2:] if token.startswith("##") else token
        if stem.isalpha() and stem.islower():
            prefix = "##" if token.startswith("##") else ""
            added += [prefix + stem.capitalize(), prefix + stem.upper()]
    for letter in EXTRA_LETTERS + EXTRA_LETTERS.upper():
        added += [letter, "##" + letter]
    seen = set(vocab)
    return vocab + [token for token in dict.fromkeys(added) if token not in seen]


def write_fixture(folder, vocab, lower_case, labels_from, max_seq_len):
    """Writes vocab.txt, model_info.json and the label files of one fixture export folder."""
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(vocab) + "\n")
    for name in ("intent_label.txt", "slot_label.txt"):
        shutil.copyfile(os.path.join(labels_from, name), os.path.join(folder, name))
    write_json(os.path.join(folder, "model_info.json"), {
        "format": "nlu_tf.fixture", "version": 1, "max_seq_len": max_seq_len,
        "lower_case": lower_case, "vocab_size": len(vocab), "max_chars_per_word": 100})


def main(out):
    vocab = _uncased_vocab()
    write_fixture(os.path.join(out, "uncased"), vocab, True, os.path.join(DATA, "snips"), 50)
    write_fixture(os.path.join(out, "cased"), cased_vocab(vocab), False,
                  os.path.join(DATA, "atis"), 32)


if __name__ == "__main__":
    main(sys.argv[1])
