"""Augments the training split of a dataset and writes it as a split folder (`train_aug/`)."""

import os
import sys

from nlu_tf.augment.augmenter import augment_example, new_generator
from nlu_tf.progress import ProgressBar
from nlu_tf.augment.slots import SlotValues
from nlu_tf.augment.sources import load_candidate_source
from nlu_tf.augment.writer import AugmentCounts, CopyFilter, write_split
from nlu_tf.data.reader import read_split
from nlu_tf.errors import InputError
from nlu_tf.output_dirs import check_output_dir

AUG_SPLIT = "train_aug"


def augment_dataset(dataset_dir, model_dir, settings, output_dir=None, stream=sys.stderr):
    """Writes the training utterances, then their augmented copies, to a split folder.

    Args:
        dataset_dir: a dataset folder with train/, dev/ and test/.
        model_dir: a Hugging Face BERT directory (vocab.txt, config.json, weights).
        settings: an `AugmentSettings`.
        output_dir: the split folder to write; default `<dataset_dir>/train_aug`.
        stream: where progress bars are drawn; None for none.

    Returns:
        `(output_dir, AugmentCounts, kind)`, kind being "mlm" or "embeddings".

    Raises:
        InputError: a split or the checkpoint is missing or malformed (nothing is written).
    """
    output_dir = output_dir or os.path.join(dataset_dir, AUG_SPLIT)
    # The output is a split folder: never the dataset, one of its splits or the checkpoint.
    check_output_dir(output_dir, "split",
                     [os.path.join(dataset_dir, split) for split in ("train", "dev", "test")]
                     + [model_dir])
    train = read_split(dataset_dir, "train")
    if not train:
        raise InputError(os.path.join(dataset_dir, "train"), "no utterances to augment")
    held_out = read_split(dataset_dir, "dev") + read_split(dataset_dir, "test")
    source = load_candidate_source(model_dir, settings.candidates, settings.batch_size)

    def make_progress(total, label):
        return ProgressBar(total, label, stream)

    candidates = source.word_candidates(train, make_progress)
    inventory = SlotValues.from_examples(train)
    rng = new_generator(settings.seed)
    counts = AugmentCounts()
    keep = CopyFilter(train, held_out, counts)
    augmented = []
    progress = make_progress(len(train), "augment")
    for example, words in zip(train, candidates):
        copies = augment_example(example, words, inventory, settings.copies,
                                 settings.probability, rng)
        augmented.extend(copy for copy in copies if keep.accept(copy))
        progress.update()
    write_split(output_dir, list(train) + augmented)
    return output_dir, counts, source.kind
