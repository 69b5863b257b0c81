"""BERT-EMD's data-preparation step: a corpus becomes per-epoch TFRecord shards.

Output, for epoch e: `epoch_<e>-NNNNN.tfrecord` shards and `epoch_<e>_metrics.json`
(`num_training_examples`, `max_seq_len`, the shard names and the options). The metrics
file is written last, so its presence marks a complete epoch. Each epoch cuts and masks
the documents afresh with its own seeded random generator.
"""

import dataclasses
import hashlib
import json
import os
import random
import shutil
import tempfile
import time

from nlu_tf.errors import InputError
from nlu_tf.io_utils import write_json
from nlu_tf.output_dirs import claim, mark, refuse_inputs
from nlu_tf.pretraining.corpus import DiskDocuments, load_corpus
from nlu_tf.pretraining.instances import Vocabulary, document_instances
from nlu_tf.pretraining.records import ShardWriter, to_example


def metrics_path(directory, epoch):
    """The metrics file of pregenerated epoch `epoch` in `directory`."""
    return os.path.join(directory, f"epoch_{epoch}_metrics.json")


OUTPUT_KIND = "pregenerated"
_CHUNK = 1 << 20


def fingerprint(corpus, tokenizer, settings):
    """SHA-256 of the corpus bytes, the vocabulary, lower-casing and every setting that
    changes the output (`reduce_memory` does not)."""
    digest = hashlib.sha256()
    with open(corpus, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    options = {**dataclasses.asdict(settings), "reduce_memory": None,
               "lower_case": tokenizer.lower_case}
    digest.update(json.dumps(options, sort_keys=True).encode())
    digest.update("\n".join(tokenizer.vocab).encode())
    return digest.hexdigest()


def _stored_fingerprint(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f).get("fingerprint")
    except (OSError, ValueError, AttributeError):
        return None


def done_epochs(output_dir, print_):
    """The epochs already complete in `output_dir` for the fingerprint `print_`; raises
    `InputError` if the directory holds other output (another corpus or other settings,
    or files pregenerate did not write)."""
    if not os.path.isdir(output_dir):
        claim(output_dir, OUTPUT_KIND)
        return set()
    names = os.listdir(output_dir)
    metrics = sorted(name for name in names if name.startswith("epoch_")
                     and name.endswith("_metrics.json"))
    if not metrics:
        claim(output_dir, OUTPUT_KIND)
        return set()
    for name in metrics:
        if _stored_fingerprint(os.path.join(output_dir, name)) != print_:
            raise InputError(output_dir, f"holds pregenerated data of another corpus or other "
                                         f"settings ({name}); it is never mixed with new "
                                         f"epochs: choose another output directory")
    return {epoch for epoch in range(settings_epochs(metrics))
            if os.path.isfile(metrics_path(output_dir, epoch))}


def settings_epochs(metrics_names):
    """One past the highest epoch number among `epoch_<e>_metrics.json` names."""
    numbers = [name[len("epoch_"):-len("_metrics.json")] for name in metrics_names]
    return 1 + max((int(n) for n in numbers if n.isdigit()), default=-1)


def _epoch_seed(seed, epoch):
    return seed * 1_000_003 + epoch


def write_epoch(documents, vocab, settings, output_dir, epoch, print_=None):
    """Cuts, masks and writes one epoch; returns its metrics dict."""
    rng = random.Random(_epoch_seed(settings.seed, epoch))
    writer = ShardWriter(os.path.join(output_dir, f"epoch_{epoch}"), settings.shard_size)
    for index in range(len(documents)):
        for instance in document_instances(documents, index, vocab, settings, rng):
            writer.write(to_example(instance, settings.max_seq_len,
                                    settings.max_predictions_per_seq))
    metrics = {"num_training_examples": writer.count, "max_seq_len": settings.max_seq_len,
               "max_predictions_per_seq": settings.max_predictions_per_seq,
               "shards": writer.close(), "epoch": epoch, "settings": dataclasses.asdict(settings),
               "fingerprint": print_}
    write_json(metrics_path(output_dir, epoch), metrics)
    return metrics


def pregenerate(corpus, tokenizer, output_dir, settings):
    """Writes `settings.epochs_to_generate` epochs of instances of `corpus` into `output_dir`.

    Args:
        corpus: a text file, one sentence a line, documents separated by blank lines.
        tokenizer: the teacher's `WordPieceTokenizer`.
        output_dir: created if needed.
        settings: `PregenerateSettings`.

    Returns:
        A summary: corpus counts, examples per epoch, seconds.

    Raises:
        InputError: a bad corpus (missing, empty, not UTF-8, no multi-sentence document),
            or a vocabulary without `[MASK]`.
    """
    started = time.time()
    try:
        vocab = Vocabulary(tokenizer)
    except ValueError as error:
        raise InputError("vocab.txt", str(error)) from None
    if not os.path.isfile(corpus):
        raise InputError(corpus, "corpus file not found")
    refuse_inputs(output_dir, (corpus,))
    print_ = fingerprint(corpus, tokenizer, settings)
    done = done_epochs(output_dir, print_)
    created = not os.path.exists(output_dir)
    os.makedirs(output_dir, exist_ok=True)
    mark(output_dir, OUTPUT_KIND)
    try:
        return _generate(corpus, tokenizer, vocab, output_dir, settings, print_, done, started)
    except InputError:
        if created:  # a refused run leaves nothing behind
            shutil.rmtree(output_dir, ignore_errors=True)
        raise


def _generate(corpus, tokenizer, vocab, output_dir, settings, print_, done, started):
    work = tempfile.mkdtemp(prefix=".corpus-", dir=output_dir) if settings.reduce_memory else None
    try:
        documents, counts = load_corpus(corpus, tokenizer, settings.reduce_memory, work,
                                        line_chars(tokenizer, settings.max_seq_len))
        try:
            examples = []
            for epoch in range(settings.epochs_to_generate):
                if epoch in done:  # resumed: the same corpus and settings made it
                    with open(metrics_path(output_dir, epoch), encoding="utf-8") as f:
                        examples.append(json.load(f)["num_training_examples"])
                    continue
                examples.append(write_epoch(documents, vocab, settings, output_dir, epoch,
                                            print_)["num_training_examples"])
        finally:
            if isinstance(documents, DiskDocuments):
                documents.release()
    finally:
        if work:
            shutil.rmtree(work, ignore_errors=True)
    return {**counts, "examples_per_epoch": examples, "resumed_epochs": sorted(done),
            "output_dir": output_dir, "seconds": round(time.time() - started, 1)}


def line_chars(tokenizer, max_seq_len):
    """The characters of a corpus line that are tokenized: room for `max_seq_len` words of
    the WordPiece limit (a longer word is one [UNK]) and a separator each, more than an
    example of `max_seq_len` tokens uses unless the line is mostly blank; the rest of a
    longer line is checked as UTF-8 but never held or tokenized."""
    return max_seq_len * (tokenizer.max_chars_per_word + 1)
