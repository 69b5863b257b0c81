"""Writes golden vectors for an export folder: nlu_tf's tokenization and decoding, case by case.

    nlu-golden-vectors --export_dir out/convert/tflite_dynamic --output golden.jsonl
    nlu-golden-vectors --export_dir EXPORT --data_dir data --tasks snips,atis --splits test,dev

A client that tokenizes and decodes by itself (android/'s Java NluTokenizer and NluDecoder)
is proven equal to nlu_tf on these: each line is one JSON case with the utterance, its token
ids, first sub-token positions, word offsets (code points) and truncation, seeded random
logits, and the `nlu-predict --format json` object nlu_tf decodes from them. The cases are
the raw seq.in lines of the given splits (gold labels lend the logits a bonus, so spans
look like a model's), a built-in set of hostile text, and --fuzz seeded random strings.
The file is written atomically; `make android-test` runs the Java side against it.
"""

import os

from absl import flags

from nlu_cli import app as cli
from nlu_tf.data.reader import resolve_data_dir
from nlu_tf.errors import InputError
from nlu_tf.io_utils import atomic_file, prepare_output_file

flags.DEFINE_string("export_dir", None, "An nlu_tf export folder (vocab.txt, model_info.json, "
                    "intent_label.txt, slot_label.txt), e.g. a TFLite folder of nlu-convert.")
flags.DEFINE_string("output", None, "The golden-vector file to write (JSON lines).")
flags.DEFINE_string("data_dir", "data", "Dataset root holding the --tasks folders.")
flags.DEFINE_list("tasks", ["snips", "atis"], "Datasets under --data_dir whose splits give cases "
                  "(empty: none).")
flags.DEFINE_list("splits", ["test", "dev"], "The splits of each task to take.")
flags.DEFINE_bool("hostile", True, "Add the built-in hostile texts (scripts, controls, long "
                                   "words, empty input).")
flags.DEFINE_integer("fuzz", 200, "Seeded random strings to add.")
flags.DEFINE_integer("seed", 0, "Seeds the logits and the random strings.")
FLAGS = flags.FLAGS


def _sources():
    from nlu_tf.serving.golden import HOSTILE_TEXTS, dataset_utterances, fuzz_texts

    for task in FLAGS.tasks:
        folder = resolve_data_dir(FLAGS.data_dir, task)
        for split in FLAGS.splits:
            for name, text, intent, tags in dataset_utterances(folder, split):
                yield f"{task}/{name}", text, intent, tags
    if FLAGS.hostile:
        for number, text in enumerate(HOSTILE_TEXTS, 1):
            yield f"hostile:{number}", text, None, None
    for number, text in enumerate(fuzz_texts(FLAGS.fuzz, FLAGS.seed), 1):
        yield f"fuzz:{number}", text, None, None


def main(argv):
    del argv
    if not FLAGS.export_dir or not FLAGS.output:
        raise InputError("command line", "--export_dir and --output are required")
    if FLAGS.fuzz < 0:
        raise InputError("command line", f"--fuzz must be 0 or more, got {FLAGS.fuzz}")
    from nlu_tf.export.metadata import load_artefact_info
    from nlu_tf.serving.golden import write_golden

    artefact = load_artefact_info(FLAGS.export_dir)
    prepare_output_file(FLAGS.output)
    with atomic_file(FLAGS.output) as out:
        count = write_golden(artefact, _sources(), out, FLAGS.seed)
    if not count:
        os.remove(FLAGS.output)
        raise InputError("command line", "no cases: give --tasks, --hostile or --fuzz")
    print(f"{count} golden case(s) written to {FLAGS.output} "
          f"(lower_case={artefact.tokenizer.lower_case}, max_seq_len={artefact.max_seq_len})")


def entry():
    """The `nlu-golden-vectors` command."""
    cli.run(main, __doc__)


if __name__ == "__main__":
    entry()
