"""absl flag values -> settings dataclasses, for every command that builds settings
(training, BERT-EMD, general distillation, augmentation); the training flags are defined here.

The flags keep the names of the original PyTorch workflow so its command lines work
unchanged. Only the commands call these; the library receives the dataclasses.
"""

import dataclasses

from absl import flags

from nlu_tf.choices import EmdWeightUpdate, FallbackCharacters, names
from nlu_tf.precision import JIT_AUTO, PRECISIONS
from nlu_tf.training.settings import (LAYER_MAPPINGS, STAGES, STRATEGIES, DataSettings,
                                      DistillSettings, OptimizerSettings, RunSettings)

_HELP = {
    "stage": "2.0: fine-tune the teacher on gold labels; 2.1: intermediate-layer distillation "
             "(embeddings, hidden states, pre-softmax attention; no labels); 2.2: prediction-"
             "layer distillation. Stages 2.0 and 2.2 keep the best dev checkpoint, chosen by "
             "sentence accuracy with ties broken by slot F1.",
    "teacher_model": "Stage 2.0: a Hugging Face BERT directory (or an nlu_tf model directory) "
                     "to fine-tune. Stages 2.1/2.2: the fine-tuned teacher (a stage 2.0 output).",
    "student_model": "Stage 2.2: the stage 2.1 output to continue from.",
    "tinybert": "Stage 2.1: a general TinyBERT checkpoint (Hugging Face layout) as the student; "
                "empty: cut the student from the teacher (--student_num_layers).",
    "output_dir": "Where the model directory is written (atomically, at the end).",
    "mixed_precision": "Keras dtype policy to train in: float32, mixed_bfloat16 (fast on CPUs "
                       "with AVX512-BF16 or AMX) or mixed_float16 (with loss scaling). "
                       "Variables, losses and the saved model stay float32.",
    "jit_compile": "XLA-compile training and evaluation. Unset: auto, on for float32 and off "
                   "for mixed_bfloat16 / mixed_float16 (TensorFlow's oneDNN kernels use the "
                   "CPU's bf16 units, XLA's do not); --jit_compile / --nojit_compile decide.",
}


def define_precision_flags(jit_help=_HELP["jit_compile"], flag_values=flags.FLAGS):
    """Defines --mixed_precision and --jit_compile (unset: "auto", see `precision`)."""
    flags.DEFINE_enum("mixed_precision", PRECISIONS[0], list(PRECISIONS),
                      _HELP["mixed_precision"], flag_values=flag_values)
    flags.DEFINE_bool("jit_compile", None, jit_help, flag_values=flag_values)


def jit_choice(values):
    """The `jit_compile` setting of a flag dict: True, False, or "auto" when unset."""
    return JIT_AUTO if values["jit_compile"] is None else values["jit_compile"]


def define_train_flags(flag_values=flags.FLAGS):
    """Defines the training flags (call once, from a tool's module level)."""
    d = RunSettings()
    fv = {"flag_values": flag_values}
    flags.DEFINE_enum("stage", d.stage, list(STAGES), _HELP["stage"], **fv)
    flags.DEFINE_bool("pred_distill", False, "Prediction-layer distillation (same as --stage 2.2).", **fv)
    flags.DEFINE_string("teacher_model", d.teacher_model, _HELP["teacher_model"], **fv)
    flags.DEFINE_string("student_model", d.student_model, _HELP["student_model"], **fv)
    flags.DEFINE_string("tinybert", d.tinybert, _HELP["tinybert"], **fv)
    flags.DEFINE_string("output_dir", d.output_dir, _HELP["output_dir"], **fv)
    flags.DEFINE_string("data_dir", d.data.data_dir, "Dataset root (holds <task>/) or a dataset folder.", **fv)
    flags.DEFINE_string("task", d.data.task, "Dataset under --data_dir (any name, e.g. snips or atis).", **fv)
    flags.DEFINE_integer("max_seq_len", d.data.max_seq_len, "Longest token sequence, specials included.", **fv)
    flags.DEFINE_integer("train_batch_size", d.data.train_batch_size, "Global training batch size.", **fv)
    flags.DEFINE_integer("eval_batch_size", d.data.eval_batch_size, "Evaluation batch size.", **fv)
    flags.DEFINE_integer("max_train_examples", 0, "Use only the first N training utterances (0: all).", **fv)
    flags.DEFINE_bool("aug_train", False,
                      "Distil on the augmented set <task>/train_aug (tools/data_augmentation.py); "
                      "on augmented utterances the targets are the teacher's predictions.", **fv)
    flags.DEFINE_float("num_train_epochs", d.num_train_epochs, "Training epochs (may be fractional).", **fv)
    flags.DEFINE_integer("eval_step", d.eval_step, "Evaluate on dev every N steps (0: at epoch ends).", **fv)
    flags.DEFINE_float("learning_rate", d.optimizer.learning_rate, "Peak AdamW learning rate.", **fv)
    flags.DEFINE_float("warmup_proportion", d.optimizer.warmup_proportion, "Share of steps warming up.", **fv)
    flags.DEFINE_float("weight_decay", d.optimizer.weight_decay, "AdamW weight decay.", **fv)
    flags.DEFINE_float("max_grad_norm", d.optimizer.clip_norm, "Gradient clipping by global norm.", **fv)
    flags.DEFINE_float("ema_momentum", d.optimizer.ema_momentum,
                       "Score dev and keep the model with a moving average of the weights "
                       "(each step keeps this share of it, e.g. 0.995); 0: off.", **fv)
    flags.DEFINE_integer("seed", d.seed, "Random seed: same seed, same data, same metrics.", **fv)
    flags.DEFINE_float("slot_loss_coef", d.slot_loss_coef, "Weight of the slot loss.", **fv)
    flags.DEFINE_float("dropout_rate", d.head_dropout, "Dropout before the intent and slot heads.", **fv)
    flags.DEFINE_float("temperature", d.distill.temperature, "Stage 2.2 softmax temperature.", **fv)
    flags.DEFINE_float("alpha", d.distill.alpha, "Stage 2.2 weight of the gold-label loss (0: pure distillation).", **fv)
    flags.DEFINE_enum("layer_mapping", d.distill.layer_mapping, list(LAYER_MAPPINGS),
                      "Stage 2.1 layer mapping: TinyBERT's uniform g(m)=m*N/M, or BERT-EMD.", **fv)
    flags.DEFINE_float("beta", d.distill.beta, "BERT-EMD one-step: weight of the intermediate terms.", **fv)
    flags.DEFINE_float("theta", d.distill.theta, "BERT-EMD one-step: weight of the EMD terms vs embeddings.", **fv)
    flags.DEFINE_float("T_emd", d.distill.T_emd, "BERT-EMD: temperature of the softmax weight update.", **fv)
    flags.DEFINE_enum("emd_weight_update", d.distill.emd_weight_update, list(names(EmdWeightUpdate)),
                      "BERT-EMD layer-weight update: softmax with --T_emd (paper) or sum-normalisation.", **fv)
    flags.DEFINE_float("emd_weight_floor", d.distill.emd_weight_floor,
                       "BERT-EMD: share in [0, 1) of the layer weights spread uniformly after each "
                       "update, so no layer falls below emd_weight_floor / layers (0: the "
                       "published rule, which can put all weight on one layer).", **fv)
    flags.DEFINE_bool("separate", d.distill.separate,
                      "BERT-EMD: keep attention and hidden-state layer weights apart (else averaged).", **fv)
    flags.DEFINE_bool("emd_one_step", d.distill.one_step,
                      "BERT-EMD one-step objective: beta*(theta*(L_att+L_hid)+L_emb) + L_pred.", **fv)
    flags.DEFINE_integer("student_num_layers", d.distill.student_num_layers,
                         "Blocks of a student cut from the teacher (when --tinybert is empty).", **fv)
    flags.DEFINE_enum("distribution_strategy", d.distribution_strategy, list(STRATEGIES),
                      "tf.distribute strategy; the global batch is split across replicas.", **fv)
    define_precision_flags(flag_values=flag_values)
    flags.DEFINE_integer("checkpoint_every", d.checkpoint_every,
                         "Steps between resumable checkpoints (0: every epoch). A killed run "
                         "resumes from the last one when the same command runs again.", **fv)
    flags.DEFINE_bool("tensorboard", d.tensorboard,
                      "Write TensorBoard curves (every loss term, the learning rate, dev "
                      "metrics) into <output_dir>/tensorboard.", **fv)
    flags.DEFINE_bool("restart", False, "Discard a resumable checkpoint and start over.", **fv)
    flags.DEFINE_bool("trim_vocab", d.trim_vocab,
                      "Stage 2.1: the new student (cut from the teacher or --tinybert) keeps "
                      "only the pieces its training data uses, and learns with that vocabulary "
                      "(a smaller embedding; see nlu-trim-vocab).", **fv)
    flags.DEFINE_integer("trim_min_count", d.trim_min_count,
                         "With --trim_vocab: a used piece is kept if it occurs this often.", **fv)
    flags.DEFINE_enum("trim_fallback_characters", d.trim_fallback_characters,
                      list(names(FallbackCharacters)),
                      "With --trim_vocab: single-character pieces kept (all, or latin plus "
                      "those the data uses).", **fv)
    flags.DEFINE_bool("trim_share_rows", d.trim_share_rows,
                      "With --trim_vocab: keep the teacher's whole vocabulary; each dropped "
                      "piece reads the row of its nearest kept piece, so test words are "
                      "split as the teacher splits them (an int32 map, 4 bytes a piece).", **fv)
    flags.DEFINE_multi_string("trim_corpus", list(d.trim_corpus),
                              "With --trim_vocab: a plain-text file (one sentence a line) "
                              "whose pieces are kept too; repeat for several.", **fv)
    flags.DEFINE_integer("trim_vocab_size", d.trim_vocab_size,
                         "With --trim_vocab and --trim_corpus: keep the training data's "
                         "pieces, then the corpora's most used ones up to this many tokens "
                         "(0: the corpora count with the data, --trim_min_count).", **fv)
    flags.DEFINE_integer("embedding_size", d.embedding_size,
                         "Stage 2.1: the new student's token embedding is factorised into a "
                         "(vocab, N) table and an (N, hidden) projection, started from the "
                         "teacher's table by truncated SVD (a smaller on-device model; with "
                         "--trim_vocab, after trimming). 0: the full-width table.", **fv)
    flags.DEFINE_integer("intermediate_size", d.intermediate_size,
                         "Stage 2.1: the new student keeps this many feed-forward neurons "
                         "in each layer, those with the largest weight norms (in times out), "
                         "for more layers at the same latency. 0: all of the teacher's.", **fv)
    flags.DEFINE_integer("weight_bits", d.weight_bits,
                         "4: quantization-aware training for `nlu-convert --quantization "
                         "int4`: the student's dense layers and token rows are read rounded "
                         "to 4 bits in the forward pass (dev is scored that way too); the "
                         "weights stay float. 0: float training.", **fv)
    flags.DEFINE_multi_string("extra_teacher", list(d.extra_teachers),
                              "Stages 2.1 and 2.2: another fine-tuned teacher (a stage 2.0 "
                              "output with --teacher_model's vocabulary and labels); the "
                              "student learns from the mean of the teachers' logits, and "
                              "stage 2.1 from --teacher_model's layers. Repeat for several.",
                              **fv)
    define_teacher_cache_flags(flag_values)


def define_teacher_cache_flags(flag_values=flags.FLAGS):
    """Defines --teacher_cache and --teacher_cache_max_gb (training and BERT-EMD commands)."""
    d = RunSettings()
    flags.DEFINE_bool("teacher_cache", d.teacher_cache,
                      "Stages 2.1 and 2.2: compute the frozen teacher's outputs once, into the "
                      "run's work folder on disk, and read them every epoch instead of running "
                      "the teacher (same losses; removed when the stage ends).",
                      flag_values=flag_values)
    flags.DEFINE_float("teacher_cache_max_gb", d.teacher_cache_max_gb,
                       "Largest teacher-output cache written, in GB; a larger one (or one over "
                       "the free disk space) is skipped with one log line.",
                       flag_values=flag_values)


def settings_from_flags(values):
    """Builds `RunSettings` from a dict of flag values (e.g. `FLAGS.flag_values_dict()`)."""
    stage = "2.2" if values.get("pred_distill") else values["stage"]
    data = dataclasses.replace(
        DataSettings(), data_dir=values["data_dir"], task=values["task"],
        max_seq_len=values["max_seq_len"], train_batch_size=values["train_batch_size"],
        eval_batch_size=values["eval_batch_size"], max_train_examples=values["max_train_examples"],
        train_split="train_aug" if values.get("aug_train") else "train")
    optimizer = dataclasses.replace(
        OptimizerSettings(), learning_rate=values["learning_rate"],
        warmup_proportion=values["warmup_proportion"], weight_decay=values["weight_decay"],
        clip_norm=values["max_grad_norm"], ema_momentum=values["ema_momentum"])
    distill = dataclasses.replace(
        DistillSettings(), layer_mapping=values["layer_mapping"],
        temperature=values["temperature"], alpha=values["alpha"], beta=values["beta"],
        theta=values["theta"], T_emd=values["T_emd"],
        emd_weight_update=values["emd_weight_update"], separate=values["separate"],
        emd_weight_floor=values["emd_weight_floor"],
        one_step=values["emd_one_step"], student_num_layers=values["student_num_layers"])
    return RunSettings(
        stage=stage, output_dir=values["output_dir"], teacher_model=values["teacher_model"],
        student_model=values["student_model"], tinybert=values["tinybert"],
        num_train_epochs=values["num_train_epochs"], eval_step=values["eval_step"],
        seed=values["seed"], slot_loss_coef=values["slot_loss_coef"],
        head_dropout=values["dropout_rate"], mixed_precision=values["mixed_precision"],
        jit_compile=jit_choice(values),
        distribution_strategy=values["distribution_strategy"],
        checkpoint_every=values["checkpoint_every"],
        tensorboard=values.get("tensorboard", True),
        teacher_cache=values["teacher_cache"],
        teacher_cache_max_gb=values["teacher_cache_max_gb"],
        trim_vocab=values.get("trim_vocab", False),
        trim_min_count=values.get("trim_min_count", 1),
        trim_fallback_characters=values.get("trim_fallback_characters", "all"),
        trim_corpus=tuple(values.get("trim_corpus") or ()),
        trim_vocab_size=values.get("trim_vocab_size", 0),
        trim_share_rows=values.get("trim_share_rows", False),
        embedding_size=values.get("embedding_size", 0),
        intermediate_size=values.get("intermediate_size", 0),
        weight_bits=values.get("weight_bits", 0),
        extra_teachers=tuple(values.get("extra_teacher") or ()),
        data=data, optimizer=optimizer, distill=distill)


def emd_settings_from_flags(values):
    """`RunSettings` of BERT-EMD's one-step task distillation (`nlu-emd-task-distill`,
    whose flags keep BERT-EMD's names: `--max_seq_length`, `--task_name`, `--seperate`).

    `--student_model` is an nlu_tf model directory to continue, or a general (Hugging Face)
    student to start from.
    """
    from nlu_tf.model_io.model_files import is_model_dir

    student = values["student_model"]
    data = DataSettings(data_dir=values["data_dir"], task=values["task_name"],
                        max_seq_len=values["max_seq_length"],
                        train_batch_size=values["train_batch_size"],
                        train_split="train_aug" if values["aug_train"] else "train")
    distill = DistillSettings(layer_mapping="emd", temperature=values["temperature"],
                              alpha=values["alpha"], beta=values["beta"], theta=values["theta"],
                              T_emd=values["T_emd"], emd_weight_update=values["emd_weight_update"],
                              emd_weight_floor=values["emd_weight_floor"],
                              separate=values["seperate"], one_step=True)
    return RunSettings(
        stage="2.1", output_dir=values["output_dir"], teacher_model=values["teacher_model"],
        student_model=student if student and is_model_dir(student) else "",
        tinybert=student if student and not is_model_dir(student) else "",
        num_train_epochs=values["num_train_epochs"], seed=values["seed"], data=data,
        distill=distill, optimizer=OptimizerSettings(learning_rate=values["learning_rate"]),
        teacher_cache=values["teacher_cache"],
        teacher_cache_max_gb=values["teacher_cache_max_gb"])


def general_settings_from_flags(values):
    """`GeneralDistillSettings` of `nlu-general-distill`."""
    from nlu_tf.pretraining.settings import GeneralDistillSettings

    optimizer = OptimizerSettings(learning_rate=values["learning_rate"],
                                  warmup_proportion=values["warmup_proportion"],
                                  weight_decay=values["weight_decay"],
                                  clip_norm=values["max_grad_norm"])
    return GeneralDistillSettings(
        pregenerated_data=values["pregenerated_data"], teacher_model=values["teacher_model"],
        student_model=values["student_model"], output_dir=values["output_dir"],
        num_train_epochs=values["num_train_epochs"], train_batch_size=values["train_batch_size"],
        max_steps=values["max_steps"], held_out_data=values["held_out_data"] or "",
        layer_mapping=values["layer_mapping"], T_emd=values["T_emd"],
        emd_weight_update=values["emd_weight_update"],
        emd_weight_floor=values["emd_weight_floor"], separate=values["separate"],
        seed=values["seed"], mixed_precision=values["mixed_precision"],
        jit_compile=jit_choice(values),
        distribution_strategy=values["distribution_strategy"],
        checkpoint_every=values["checkpoint_every"], tensorboard=values.get("tensorboard", True),
        optimizer=optimizer)


def augment_settings_from_flags(values):
    """`AugmentSettings` of `nlu-data-augmentation` (TinyBERT's flag names N, M, p)."""
    from nlu_tf.augment.augmenter import AugmentSettings

    return AugmentSettings(copies=values["N"], candidates=values["M"], probability=values["p"],
                           seed=values["seed"], batch_size=values["batch_size"])
