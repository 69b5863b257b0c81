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
from nlu_cli.settings_flags import define_precision_flags, general_settings_from_flags
from nlu_tf.choices import EmdWeightUpdate, names
from nlu_tf.pretraining.settings import GeneralDistillSettings
from nlu_tf.run_lock import run_lock
from nlu_tf.training.settings import LAYER_MAPPINGS, STRATEGIES, OptimizerSettings

d = GeneralDistillSettings()
o = OptimizerSettings()
flags.DEFINE_string("pregenerated_data", None, "Output of pregenerate_training_data.py.",
                    required=True)
flags.DEFINE_string("teacher_model", None, "Pre-trained BERT directory (Hugging Face layout).",
                    required=True)
flags.DEFINE_string("student_model", None, "Directory with the student's config.json (a new "
                                           "shape) or a whole Hugging Face student.",
                    required=True)
flags.DEFINE_string("output_dir", None, "Where the student is written.", required=True)
flags.DEFINE_integer("num_train_epochs", d.num_train_epochs, "Epochs (epoch e reads "
                                                             "pregenerated epoch e mod N).")
flags.DEFINE_integer("train_batch_size", d.train_batch_size, "Global batch size.")
flags.DEFINE_integer("max_steps", d.max_steps, "Stop after this many steps (0: all the epochs); "
                                               "the learning-rate schedule spans them.")
flags.DEFINE_string("held_out_data", None, "A pregenerated epoch of held-out text: the losses "
                                           "to the teacher on it, before and after training, "
                                           "go into general_distill.json.")
flags.DEFINE_float("learning_rate", o.learning_rate, "Peak AdamW learning rate.")
flags.DEFINE_float("warmup_proportion", o.warmup_proportion, "Share of steps warming up.")
flags.DEFINE_float("weight_decay", o.weight_decay, "AdamW weight decay.")
flags.DEFINE_float("max_grad_norm", o.clip_norm, "Gradient clipping by global norm.")
flags.DEFINE_enum("layer_mapping", d.layer_mapping, list(LAYER_MAPPINGS),
                  "TinyBERT's uniform g(m)=m*N/M, or BERT-EMD's many-to-many mapping.")
flags.DEFINE_float("T_emd", d.T_emd, "BERT-EMD: temperature of the softmax weight update.")
flags.DEFINE_enum("emd_weight_update", d.emd_weight_update, list(names(EmdWeightUpdate)),
                  "BERT-EMD layer-weight update rule.")
flags.DEFINE_float("emd_weight_floor", d.emd_weight_floor,
                   "BERT-EMD: share in [0, 1) of the layer weights spread uniformly after each "
                   "update (0: the published rule).")
flags.DEFINE_bool("separate", d.separate, "BERT-EMD: keep attention and hidden-state layer "
                                          "weights apart.")
flags.DEFINE_integer("seed", d.seed, "Random seed.")
flags.DEFINE_enum("distribution_strategy", d.distribution_strategy, list(STRATEGIES),
                  "tf.distribute strategy; the global batch is split across replicas.")
define_precision_flags("XLA-compile the train step. Unset: auto, on for float32 and off for "
                       "mixed_bfloat16 / mixed_float16; --jit_compile / --nojit_compile decide.")
flags.DEFINE_integer("checkpoint_every", d.checkpoint_every,
                     "Steps between resumable checkpoints (0: every epoch).")
flags.DEFINE_bool("tensorboard", d.tensorboard, "Write TensorBoard curves (every loss term, "
                  "the learning rate) into <output_dir>/tensorboard.")
flags.DEFINE_bool("restart", False, "Discard a resumable checkpoint and start over.")
flags.DEFINE_bool("reduce_memory", False, "Accepted for compatibility (data is streamed).")
flags.DEFINE_bool("do_lower_case", True, "Accepted for compatibility; the teacher decides.")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    settings = cli.settings(general_settings_from_flags, FLAGS.flag_values_dict())

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
