"""BERT-EMD's data-preparation step: a corpus becomes per-epoch TFRecord shards.

Output, for epoch e: `epoch_<e>-NNNNN.tfrecord` shards and `epoch_<e>_metrics.json`
(`num_training_examples`, `max_seq_len`, the shard names and the options). The metrics
file is written last, so its presence marks a complete epoch. Each epoch cuts and masks
the documents afresh with its own seeded random generator.
"""

import dataclasses
import os
import random
import shutil
import tempfile
import time

from nlu_tf.errors import InputError
from nlu_tf.io_utils import write_json
from nlu_tf.pretraining.corpus import DiskDocuments, load_corpus
from nlu_tf.pretraining.instances import Vocabulary, document_instances
from nlu_tf.pretraining.records import ShardWriter, to_example


@dataclasses.dataclass(frozen=True)
class PregenerateSettings:
    """Options of `pregenerate` (BERT-EMD's flag names)."""

    epochs_to_generate: int = 3
    max_seq_len: int = 128
    short_seq_prob: float = 0.1
    masked_lm_prob: float = 0.15
    max_predictions_per_seq: int = 20
    whole_word_mask: bool = False
    reduce_memory: bool = False
    shard_size: int = 100_000
    seed: int = 42

    def __post_init__(self):
        checks = [(self.epochs_to_generate > 0, "epochs_to_generate must be positive"),
                  (self.max_seq_len >= 5, "max_seq_len must be at least 5"),
                  (0.0 <= self.short_seq_prob <= 1.0, "short_seq_prob must be in [0, 1]"),
                  (0.0 < self.masked_lm_prob < 1.0, "masked_lm_prob must be in (0, 1)"),
                  (self.max_predictions_per_seq > 0, "max_predictions_per_seq must be positive"),
                  (self.shard_size > 0, "shard_size must be positive")]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)


def metrics_path(directory, epoch):
    """The metrics file of pregenerated epoch `epoch` in `directory`."""
    return os.path.join(directory, f"epoch_{epoch}_metrics.json")


def _epoch_seed(seed, epoch):
    return seed * 1_000_003 + epoch


def write_epoch(documents, vocab, settings, output_dir, epoch):
    """Cuts, masks and writes one epoch; returns its metrics dict."""
    rng = random.Random(_epoch_seed(settings.seed, epoch))
    writer = ShardWriter(os.path.join(output_dir, f"epoch_{epoch}"), settings.shard_size)
    for index in range(len(documents)):
        for instance in document_instances(documents, index, vocab, settings, rng):
            writer.write(to_example(instance, settings.max_seq_len,
                                    settings.max_predictions_per_seq))
    metrics = {"num_training_examples": writer.count, "max_seq_len": settings.max_seq_len,
               "max_predictions_per_seq": settings.max_predictions_per_seq,
               "shards": writer.close(), "epoch": epoch, "settings": dataclasses.asdict(settings)}
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
    os.makedirs(output_dir, exist_ok=True)
    work = tempfile.mkdtemp(prefix=".corpus-", dir=output_dir) if settings.reduce_memory else None
    try:
        documents, counts = load_corpus(corpus, tokenizer, settings.reduce_memory, work)
        try:
            examples = [write_epoch(documents, vocab, settings, output_dir, epoch)
                        ["num_training_examples"] for epoch in range(settings.epochs_to_generate)]
        finally:
            if isinstance(documents, DiskDocuments):
                documents.release()
    finally:
        if work:
            shutil.rmtree(work, ignore_errors=True)
    return {**counts, "examples_per_epoch": examples, "output_dir": output_dir,
            "seconds": round(time.time() - started, 1)}
