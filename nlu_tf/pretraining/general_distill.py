"""TinyBERT general distillation: a student encoder learns a pre-trained BERT on unlabelled text.

The objective is stage 2.1's (embedding output, hidden states through a learned width
projection, pre-softmax attention scores), with TinyBERT's uniform layer mapping or
BERT-EMD's (`layer_mapping` "emd"); the loop is `Distiller.fit`, the checkpoints those of
`TrainingCheckpoint`, so a killed run resumes with the same batches, and the strategy is
`make_strategy`'s. Student and teacher are bare `BertEncoder`s (their outputs carry
`hidden_states` and `attention_scores`); the batches' targets are all `IGNORE`.
"""

import json
import logging
import math
import os
import time

import keras

from nlu_tf.checkpoints.hf_reader import WEIGHT_FILES
from nlu_tf.data.tokenizer import WordPieceTokenizer
from nlu_tf.distill.distiller import Distiller
from nlu_tf.errors import InputError, quote
from nlu_tf.io_utils import work_dir, write_json
from nlu_tf.model_io.hf_encoder import load_hf_encoder, read_hf_config, save_hf_encoder
from nlu_tf.model_io.model_files import is_model_dir
from nlu_tf.models.bert_encoder import BertEncoder
from nlu_tf.models.encoder_config import check_vocab_size
from nlu_tf.surgery.encoder_init import init_bert_weights
from nlu_tf.output_dirs import check_output_dir
from nlu_tf.pretraining.pregenerate import metrics_path
from nlu_tf.pretraining.record_check import check_epoch_records
from nlu_tf.pretraining.records import pretraining_dataset
from nlu_tf.progress import fit_verbosity
from nlu_tf.training.objective_factory import make_mapping_objective
from nlu_tf.training.optimizer import make_optimizer
from nlu_tf.training.resume import TrainingCheckpoint
from nlu_tf.training.tensorboard import LOG_FOLDER, TensorBoardLog
from nlu_tf.training.stop_at_step import StopAtStep
from nlu_tf.training.strategy import make_strategy

logger = logging.getLogger(__name__)
METRICS_FILE = "general_distill.json"
HELD_OUT_INITIAL = "held_out_initial.json"
OUTPUT_KIND = "checkpoint_hf"  # what save_hf_encoder writes


MAX_SEQ_LEN_RANGE = (8, 4096)


def _shard_path(folder, name, path):
    """`folder/name` for a shard named in a metrics file: a plain file name, nothing else
    (the folder is closed: no separators, no `..`, no absolute path)."""
    if (not isinstance(name, str) or not name or name in (".", "..") or "/" in name
            or "\\" in name or os.sep in name or "\0" in name or name.startswith(".")):
        raise InputError(path, f"shard {quote(name)} is not a plain file name inside "
                               f"the folder")
    return os.path.join(folder, name)


def _checked_epoch(folder, metrics, path):
    shards = [_shard_path(folder, name, path) for name in metrics["shards"]]
    length, count = metrics["max_seq_len"], metrics["num_training_examples"]
    if not shards:
        raise InputError(path, "lists no shards")
    if not (isinstance(length, int) and MAX_SEQ_LEN_RANGE[0] <= length <= MAX_SEQ_LEN_RANGE[1]):
        raise InputError(path, f"max_seq_len {quote(length)} outside "
                               f"{MAX_SEQ_LEN_RANGE[0]}..{MAX_SEQ_LEN_RANGE[1]}")
    if not (isinstance(count, int) and count > 0):
        raise InputError(path, f"num_training_examples {quote(count)} is not a positive count")
    return shards, length, count


def read_epochs(folder):
    """The metrics of every complete pregenerated epoch in `folder`, in order, checked:
    shard names are plain file names inside `folder`, sizes and counts in range."""
    epochs = []
    while os.path.isfile(metrics_path(folder, len(epochs))):
        path = metrics_path(folder, len(epochs))
        try:
            with open(path, encoding="utf-8") as f:
                metrics = json.load(f)
            if not isinstance(metrics, dict) or not isinstance(metrics.get("shards"), list):
                raise ValueError("no list of shards")
            shards, length, count = _checked_epoch(folder, metrics, path)
            epochs.append((shards, length, count))
        except (ValueError, KeyError, TypeError) as error:
            raise InputError(path, f"not a pregenerated epoch's metrics ({error})") from None
        missing = [shard for shard in shards if not os.path.isfile(shard)]
        if missing:
            raise InputError(missing[0], "shard listed in its epoch's metrics is missing")
    if not epochs:
        raise InputError(folder, "no pregenerated data (epoch_0_metrics.json): run "
                                 "tools/pregenerate_training_data.py first")
    return epochs


def checked_epochs(folder, vocab_size):
    """`read_epochs(folder)`, each epoch's records checked against its metrics (counts,
    lengths, token ids below `vocab_size`, mask and segment values)."""
    epochs = read_epochs(folder)
    for number, (shards, length, count) in enumerate(epochs):
        check_epoch_records(metrics_path(folder, number), shards, length, count, vocab_size)
    return epochs


def load_teacher(path, dtype="float32"):
    """The pre-trained teacher encoder and its tokenizer (a Hugging Face BERT directory);
    the encoder computes in `dtype` (a Keras dtype policy)."""
    if is_model_dir(path):
        raise InputError(path, "an nlu_tf fine-tuned model directory: general distillation "
                               "learns from a pre-trained BERT (Hugging Face layout)")
    return load_hf_encoder(path, dtype), WordPieceTokenizer.from_model_dir(path)


def load_student(path, tokenizer, seed, dtype="float32"):
    """The student: a Hugging Face BERT directory with weights, or a directory holding only
    a `config.json`, a new shape that starts from BERT's random initialisation; it
    computes in `dtype` (a Keras dtype policy), its variables are float32.

    Returns:
        (the built `BertEncoder`, True for a new shape).
    """
    config, config_path = read_hf_config(path)
    check_vocab_size(tokenizer.vocab_size, config, config_path,
                     "the teacher's vocab.txt")
    if any(os.path.isfile(os.path.join(path, name)) for name in WEIGHT_FILES):
        return load_hf_encoder(path, dtype), False
    student = BertEncoder(**config, dtype=dtype)
    student.build()
    init_bert_weights(student, seed)
    return student, True


def held_out_batches(settings, epoch):
    """`(batches, number of batches)` of the pregenerated `epoch` (shards, max_seq_len,
    count); None for None."""
    if epoch is None:
        return None
    shards, max_seq_len, count = epoch
    batches = pretraining_dataset([(shards, max_seq_len)], settings.train_batch_size,
                                  settings.seed, settings.shuffle_buffer)
    return batches, math.ceil(count / settings.train_batch_size)


def held_out_losses(distiller, held_out):
    """The objective's losses (mean over batches) of `distiller`'s student on `held_out`,
    `(batches, number of batches)`."""
    batches, steps = held_out
    results = distiller.evaluate(batches, steps=steps, verbose=0, return_dict=True)
    return {name: round(float(value), 6) for name, value in results.items()}


def initial_held_out_losses(distiller, held_out, output_dir, start):
    """The held-out losses before training: measured at step 0 and kept in the run's work
    folder, so a resumed run reports the same numbers."""
    path = os.path.join(work_dir(output_dir), HELD_OUT_INITIAL)
    if start == 0 or not os.path.isfile(path):
        losses = held_out_losses(distiller, held_out)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        write_json(path, {"resumed_from_step": start, "losses": losses})
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def general_distill(settings, strategy=None, restart=False, callbacks=()):
    """Runs general distillation and writes the student as a Hugging Face BERT directory.

    Training epoch e reads pregenerated epoch e modulo the number generated. Returns the
    run's metrics (also written as `general_distill.json` beside the student).

    Args:
        settings: `GeneralDistillSettings`.
        strategy: overrides `settings.distribution_strategy`.
        restart: discard a checkpoint of an interrupted run instead of resuming it.
        callbacks: extra Keras callbacks for the fit.
    """
    check_output_dir(settings.output_dir, OUTPUT_KIND,
                     (settings.pregenerated_data, settings.teacher_model,
                      settings.student_model, settings.held_out_data))
    strategy = strategy or make_strategy(settings.distribution_strategy)
    vocab_size = WordPieceTokenizer.from_model_dir(settings.teacher_model).vocab_size
    pregenerated = checked_epochs(settings.pregenerated_data, vocab_size)
    epochs = [pregenerated[e % len(pregenerated)] for e in range(settings.num_train_epochs)]
    held_out_epoch = (checked_epochs(settings.held_out_data, vocab_size)[0]
                      if settings.held_out_data else None)
    held_out = held_out_batches(settings, held_out_epoch)
    keras.utils.set_random_seed(settings.seed)
    with strategy.scope():
        teacher, tokenizer = load_teacher(settings.teacher_model, settings.mixed_precision)
        student, new_shape = load_student(settings.student_model, tokenizer, settings.seed,
                                          settings.mixed_precision)
        # The loss never reaches the pooler; frozen, it keeps its initial weights as a
        # PyTorch run would (AdamW would otherwise decay them on zero gradients).
        student.pooler_dense.trainable = False
        longest = max(length for _, length, _ in [*epochs, held_out_epoch or epochs[0]])
        for name, model in (("student", student), ("teacher", teacher)):
            if longest > model.max_position_embeddings:
                raise InputError(settings.pregenerated_data,
                                 f"examples of {longest} tokens are longer than the {name}'s "
                                 f"max_position_embeddings ({model.max_position_embeddings})")
        stage_objective = make_mapping_objective(
            settings, student, teacher, os.path.join(settings.student_model, "config.json"))
        steps = [math.ceil(count / settings.train_batch_size) for _, _, count in epochs]
        total_steps = sum(steps)
        if settings.max_steps:
            total_steps = min(total_steps, settings.max_steps)
        distiller = Distiller(student, stage_objective.objective, teacher,
                              clip_norm=settings.optimizer.clip_norm)
        distiller.compile(optimizer=make_optimizer(settings.optimizer, total_steps,
                                                   distiller.train_variables,
                                                   settings.mixed_precision),
                          jit_compile=(settings.resolved_jit_compile
                                       and strategy.num_replicas_in_sync == 1))
    checkpoint = TrainingCheckpoint(settings.output_dir, settings.to_dict())
    if restart:
        checkpoint.clear()
    with strategy.scope():
        start = checkpoint.restore(distiller)
    initial = (None if held_out is None
               else initial_held_out_losses(distiller, held_out, settings.output_dir, start))
    interval = settings.checkpoint_every or steps[0]
    batches = pretraining_dataset([(shards, length) for shards, length, _ in epochs],
                                  settings.train_batch_size, settings.seed,
                                  settings.shuffle_buffer).skip(start)
    log_dir = os.path.join(work_dir(settings.output_dir), LOG_FOLDER)
    logs = [TensorBoardLog(log_dir)] if settings.tensorboard else []
    started = time.time()
    history = distiller.fit(batches, epochs=math.ceil(total_steps / interval),
                            initial_epoch=start // interval, steps_per_epoch=interval,
                            callbacks=[*stage_objective.callbacks, *logs, StopAtStep(total_steps),
                                       checkpoint, *callbacks],
                            verbose=fit_verbosity(settings.verbose), shuffle=False)
    metrics = {"steps": total_steps, "resumed_from_step": start,
               "mixed_precision": settings.mixed_precision,
               "jit_compile": settings.resolved_jit_compile,
               "train_seconds": round(time.time() - started, 1),
               "train_examples": min(sum(count for _, _, count in epochs),
                                     total_steps * settings.train_batch_size),
               "student_initialisation": "random (truncated normal, 0.02)" if new_shape
               else settings.student_model,
               "loss_history": [float(v) for v in history.history.get("loss", [])]}
    metrics.update(stage_objective.summary())
    if held_out is not None:
        metrics["held_out"] = {"data": settings.held_out_data, "before": initial,
                               "after": held_out_losses(distiller, held_out)}
    save_hf_encoder(student, tokenizer, settings.output_dir,
                    {METRICS_FILE: {"settings": settings.to_dict(), "metrics": metrics}},
                    extra_dirs=[log_dir] if settings.tensorboard else ())
    checkpoint.clear()
    return metrics
