"""TinyBERT general distillation with BERT-EMD's command line.

    nlu-general-distill --pregenerated_data CORPUS_JSON_DIR \\
        --teacher_model BERT_BASE_DIR --student_model STUDENT_CONFIG_DIR \\
        --output_dir GENERAL_TINYBERT_DIR --num_train_epochs 3 --train_batch_size 256 \\
        --learning_rate 1e-4 [--layer_mapping emd]

--pregenerated_data is tools/pregenerate_training_data.py's output. --teacher_model is a
pre-trained BERT (Hugging Face layout), not a fine-tuned one. --student_model holds a
config.json: alone, a new shape (say 4 layers x 312) starting from BERT's random
initialisation (truncated normal, 0.02); with a weight file, an existing student that
training continues. The student distils the teacher's embedding output, hidden states
(through a learned width projection) and pre-softmax attention scores, layers mapped
uniformly or by BERT-EMD. The output is a Hugging Face BERT directory (config.json,
vocab.txt, model.safetensors) for `tools/train.py --tinybert`, the recipe key
`student.tinybert` or transformers' `BertModel`. A killed run resumes when the same
command runs again (--restart starts over).
"""

import json

from absl import flags

from nlu_cli import app as cli
from nlu_cli.settings_flags import GENERAL_FLAGS
from nlu_tf.run_lock import run_lock

GENERAL_FLAGS.define()
flags.DEFINE_bool("restart", False, "Discard a resumable checkpoint and start over.")
flags.DEFINE_bool("reduce_memory", False, "Accepted for compatibility (data is streamed).")
flags.DEFINE_bool("do_lower_case", True, "Accepted for compatibility; the teacher decides.")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    settings = cli.settings(GENERAL_FLAGS.settings, FLAGS.flag_values_dict())

    # One run per output directory: a second one would adopt the first's live checkpoint.
    with run_lock(settings.output_dir):
        from nlu_tf.pretraining.general_distill import general_distill

        metrics = general_distill(settings, restart=FLAGS.restart)
    print(json.dumps({"output_dir": settings.output_dir, "steps": metrics["steps"],
                      "train_seconds": metrics["train_seconds"],
                      "final_loss": metrics["loss_history"][-1:],
                      "mixed_precision": metrics["mixed_precision"],
                      "jit_compile": metrics["jit_compile"],
                      **{k: v for k, v in metrics.items()
                         if k in ("emd_layer_weights", "held_out")}}))



def entry():
    """The `nlu-general-distill` command."""
    cli.run(main, __doc__)


if __name__ == "__main__":
    entry()
