"""Runs one training stage (2.0, 2.1, 2.2, or BERT-EMD) end to end from `RunSettings`."""

import collections
import dataclasses
import logging
import math
import os
import time

import keras

from nlu_tf.data.dataset import train_dataset
from nlu_tf.data.tokenizer import id_map
from nlu_tf.distill.distiller import Distiller
from nlu_tf.distill.teacher_cache_fill import cached_teacher
from nlu_tf.errors import InputError
from nlu_tf.io_utils import work_dir
from nlu_tf.output_dirs import check_output_dir
from nlu_tf.model_io import model_dir as model_dirs
from nlu_tf.surgery.student import cut_from_teacher, from_tinybert
from nlu_tf.progress import fit_verbosity
from nlu_tf.training.finite_loss import StopOnNonFiniteLoss
from nlu_tf.training.objective_factory import StageObjective, make_objective
from nlu_tf.training.optimizer import averaged_weights, make_optimizer
from nlu_tf.training.resume import TrainingCheckpoint
from nlu_tf.training.stop_at_step import StopAtStep
from nlu_tf.training.task_data import task_data
from nlu_tf.training.tensorboard import LOG_FOLDER, TensorBoardLog
from nlu_tf.training.strategy import make_strategy

logger = logging.getLogger(__name__)

TEACHER_CACHE_DIR = "teacher_cache"  # in the work folder, beside the checkpoint


def _models(settings, data):
    """Returns (student bundle, teacher bundle or None) for the stage, both computing in
    the run's dtype policy, checked against `data` (a `task_data` object: its labels, its
    training words); a `trim_vocab` student keeps the pieces of the training examples,
    an `embedding_size` one has its token embedding factorised, an `intermediate_size`
    one keeps that many feed-forward neurons a layer."""
    dtype = settings.mixed_precision
    if settings.stage == "2.0":
        if not settings.teacher_model:
            raise InputError("--teacher_model", "stage 2.0 needs a BERT checkpoint to fine-tune")
        student = model_dirs.load_any(settings.teacher_model, data.labels,
                                      settings.data.max_seq_len, settings.head_dropout, dtype)
        data.check(student)
        return student, None
    teacher = _fine_tuned(settings.teacher_model, dtype, settings.stage)
    data.check(teacher)
    if settings.student_model:
        student = model_dirs.load_any(settings.student_model, teacher.labels, teacher.max_seq_len,
                                      settings.head_dropout, dtype)
        # The teacher reads the student's sequences, up to the student's own max_seq_len.
        model_dirs.check_positions(teacher, student.max_seq_len, settings.teacher_model)
    elif settings.tinybert:
        student = from_tinybert(settings.tinybert, teacher, settings.head_dropout, dtype)
    else:
        student = cut_from_teacher(teacher, settings.student.num_layers, dtype)
    shape = settings.student
    if shape.intermediate_size:
        student = _narrowed(student, shape.intermediate_size)
    if settings.trim.enabled:
        student = _trimmed(student, settings, data.word_lists())
    if shape.embedding_size:
        student = _factorised(student, shape.embedding_size)
    if shape.weight_bits:
        student = quantization_aware(student, shape.weight_bits)
    if settings.extra_teachers:  # after the student is cut from the first teacher
        teacher = _ensemble(teacher, settings.extra_teachers, dtype, settings.stage)
    return student, teacher


def _fine_tuned(path, dtype, stage):
    """The fine-tuned teacher (a stage 2.0 output) at `path`, or an `InputError` naming it."""
    if not path or not model_dirs.is_model_dir(path):
        raise InputError(path or "--teacher_model",
                         f"stage {stage} needs a fine-tuned teacher (a stage 2.0 output)")
    return model_dirs.load_model_dir(path, dtype)


def _ensemble(teacher, paths, dtype, stage):
    """`teacher` with the model directories `paths` as one `TeacherEnsemble`
    (`RunSettings.extra_teachers`): their logits averaged, its own layers."""
    from nlu_tf.distill.teacher_ensemble import TeacherEnsemble, check_members

    others = [_fine_tuned(path, dtype, stage) for path in paths]
    check_members(teacher, others, paths)
    logger.info("teachers: the mean of %d teachers' logits", len(paths) + 1)
    return dataclasses.replace(teacher, model=TeacherEnsemble(
        [teacher.model] + [other.model for other in others], dtype=dtype))


def quantization_aware(bundle, bits):
    """`bundle` whose model reads its dense kernels and token rows rounded to `bits` bits in
    the forward pass (`StudentSettings.weight_bits`); the same float weights."""
    from nlu_tf.models.joint_model import rebuilt_model

    model = bundle.model
    if model.encoder_config.get("weight_bits") == bits:
        return bundle
    logger.info("quantization-aware training: dense kernels and token rows read at %d bits",
                bits)
    return dataclasses.replace(bundle, model=rebuilt_model(
        model, {**model.encoder_config, "weight_bits": bits}))


def _narrowed(student, width):
    """`student` keeping `width` feed-forward neurons a layer
    (`StudentSettings.intermediate_size`)."""
    from nlu_tf.surgery.ffn_prune import narrow_feed_forward

    encoder = student.model.encoder
    return _reshaped(narrow_feed_forward, student, width, "--intermediate_size",
                     f"student feed-forward layers narrowed: {encoder.intermediate_size} -> "
                     f"{width} neurons a layer")


def _factorised(student, rank):
    """`student` with its token embedding factorised at `rank`
    (`StudentSettings.embedding_size`)."""
    from nlu_tf.surgery.factorise import factorise_embedding

    encoder = student.model.encoder
    rows, width = encoder.token_embedding.embeddings.shape[0], encoder.hidden_size
    return _reshaped(factorise_embedding, student, rank, "--embedding_size",
                     f"student token embedding factorised: {rows} x {width} -> "
                     f"{rows} x {rank} + {rank} x {width}")


def _reshaped(transform, student, size, flag, what):
    """`transform(student, size)`, its ValueError a one-line error about `flag`, and `what`
    logged with the parameter counts before and after."""
    try:
        reshaped = transform(student, size)
    except ValueError as error:
        raise InputError(flag, str(error)) from None
    logger.info("%s (%d -> %d parameters)", what, student.model.count_params(),
                reshaped.model.count_params())
    return reshaped


def _trimmed(student, settings, word_lists):
    """`student` keeping only the pieces of the examples it trains on (`word_lists`, one
    list of words an example) and of the trimming's corpora (`RunSettings.trim`)."""
    from nlu_tf.surgery.vocab_trim import count_pieces, plan_with_corpora, trim_bundle

    counts = collections.Counter()
    read = count_pieces(student.tokenizer, word_lists, counts)
    sources = [{"kind": "data", "split": settings.data.train_split, "utterances": read}]
    trim = settings.trim
    try:
        kept, summary = plan_with_corpora(student.tokenizer, counts, sources, trim.corpus,
                                          trim.min_count, trim.fallback_characters,
                                          trim.vocab_size)
    except ValueError as error:
        raise InputError("--trim_vocab_size", str(error)) from None
    corpora = "".join(f" and {source['path']}" for source in sources[1:])
    logger.info("student vocabulary trimmed to its %d training utterances%s: %d -> %d %s "
                "(%s)", read, corpora, summary["original_vocab_size"], summary["vocab_size"],
                "rows shared by the whole vocabulary" if trim.share_rows else "tokens",
                summary["kept"])
    return trim_bundle(student, kept, share_rows=trim.share_rows)


@dataclasses.dataclass
class _Stage:
    """Everything `_setup` builds for one stage."""

    settings: object
    data: object
    student: object
    stage_objective: StageObjective
    distiller: Distiller
    evaluator: object
    checkpoint: TrainingCheckpoint
    train_features: object
    dev_features: object
    steps_per_epoch: int
    total_steps: int
    teacher_cache: object = None


def _setup(settings, dataset, strategy, restart):
    """Reads the data, builds the models, the objective, the trainer, the dev evaluator
    and the checkpoint, and restores the trainer from a checkpoint of the same run."""
    data = task_data(settings, dataset)
    # Refused before any model is built: training on nothing, or choosing on nothing.
    for split, purpose in (("train", "train on"), ("dev", "score and choose the checkpoint on")):
        if not data.splits[split]:
            raise InputError(data.split_path(split), f"no utterances to {purpose}")
    keras.utils.set_random_seed(settings.seed)
    with strategy.scope():
        student, teacher = _models(settings, data)
    data.check(student)
    train_features = data.features(student, "train")
    dev_features = data.features(student, "dev")
    steps_per_epoch = math.ceil(len(train_features) / settings.data.train_batch_size)
    total_steps = max(int(steps_per_epoch * settings.num_train_epochs), 1)
    with strategy.scope():
        stage_objective = make_objective(settings, student, teacher)
        distiller = Distiller(student.model, stage_objective.objective,
                              teacher.model if teacher else None,
                              clip_norm=settings.optimizer.clip_norm,
                              teacher_ids=id_map(student.tokenizer, teacher.tokenizer)
                              if teacher else None)
        distiller.compile(optimizer=make_optimizer(settings.optimizer, total_steps,
                                                   distiller.train_variables,
                                                   settings.mixed_precision),
                          jit_compile=(settings.resolved_jit_compile
                                       and strategy.num_replicas_in_sync == 1))
    evaluator = data.evaluator(student, dev_features, settings, steps_per_epoch, total_steps,
                               lambda: averaged_weights(distiller.optimizer,
                                                        distiller.train_variables)) \
        if stage_objective.trains_heads else None
    checkpoint = TrainingCheckpoint(settings.output_dir, settings.to_dict(), evaluator)
    if restart:
        checkpoint.clear()
    stage = _Stage(settings, data, student, stage_objective, distiller, evaluator,
                   checkpoint, train_features, dev_features, steps_per_epoch, total_steps)
    if settings.teacher_cache:
        stage.teacher_cache = cached_teacher(
            distiller, train_features, os.path.join(work_dir(settings.output_dir),
                                                    TEACHER_CACHE_DIR),
            settings.teacher_model, student.max_seq_len, settings.data.eval_batch_size,
            settings.teacher_cache_max_gb, settings.data.bucket_width,
            settings.resolved_jit_compile and strategy.num_replicas_in_sync == 1,
            progress=settings.verbose > 0, epochs=settings.num_train_epochs)
    return stage


def _fit(stage, strategy, callbacks):
    """Trains from the checkpointed step (0 for a new run) to the last; returns
    (first step, Keras history, seconds)."""
    settings = stage.settings
    with strategy.scope():
        start = stage.checkpoint.restore(stage.distiller)
    steps_per_epoch, total_steps = stage.steps_per_epoch, stage.total_steps
    interval = settings.checkpoint_every or steps_per_epoch
    first_epoch = start // steps_per_epoch
    batches = train_dataset(stage.train_features, settings.data.train_batch_size, settings.seed,
                            bucket_width=settings.data.bucket_width,
                            epochs=math.ceil(total_steps / steps_per_epoch) - first_epoch,
                            first_epoch=first_epoch,
                            teacher=stage.teacher_cache).skip(start % steps_per_epoch)
    # The loss check comes first: nothing is checkpointed or written after a NaN.
    callbacks = ([StopOnNonFiniteLoss(settings.output_dir)]
                 + ([stage.evaluator] if stage.evaluator else [])
                 + ([TensorBoardLog(_log_dir(settings), stage.evaluator)]
                    if settings.tensorboard else [])
                 + list(stage.stage_objective.callbacks)
                 + [StopAtStep(total_steps), stage.checkpoint] + list(callbacks))
    started = time.time()
    history = stage.distiller.fit(batches, epochs=math.ceil(total_steps / interval),
                                  initial_epoch=start // interval, steps_per_epoch=interval,
                                  callbacks=callbacks, verbose=fit_verbosity(settings.verbose),
                                  shuffle=False)
    return start, history, time.time() - started


def _log_dir(settings):
    return os.path.join(work_dir(settings.output_dir), LOG_FOLDER)


def _finish(stage, start, history, seconds):
    """Keeps the best dev weights, scores dev, writes the model directory atomically and
    removes the checkpoint; returns the metrics. Test is never scored here: it is read only
    by evaluation (`nlu-evaluate`, the pipeline's evaluate stage), so nothing is chosen on it."""
    settings, evaluator = stage.settings, stage.evaluator
    if evaluator:
        evaluator.restore_best()
    metrics = {"stage": settings.stage, "mixed_precision": settings.mixed_precision,
               "jit_compile": settings.resolved_jit_compile,
               "train_seconds": round(seconds, 1),
               "train_examples": len(stage.train_features), "steps": stage.total_steps,
               "resumed_from_step": start,
               "loss_history": list(stage.checkpoint.loss_history)
               or [float(v) for v in history.history.get("loss", [])]}
    metrics["dev"] = stage.data.dev_metrics(stage.student, evaluator, stage.dev_features,
                                            settings)
    if evaluator:
        metrics["best_step"] = evaluator.best_step
        metrics["dev_history"] = [{"step": s, **{k: m[k] for k in stage.data.history_keys}}
                                  for s, m in evaluator.history]
    metrics.update(stage.stage_objective.summary())
    model_dirs.save_model_dir(stage.student, settings.output_dir, settings=settings.to_dict(),
                              metrics=metrics,
                              extra_dirs=[_log_dir(settings)] if settings.tensorboard else ())
    stage.checkpoint.clear()
    return metrics


def run_stage(settings, dataset=None, strategy=None, restart=False, callbacks=()):
    """Trains one stage and writes its model directory atomically; returns its metrics dict.

    `dataset` is what the caller read and validated already (see `task_data.task_data`).
    `strategy` overrides `settings.distribution_strategy`; a process that runs several
    distributed stages must pass one strategy to all of them (collective keys of two
    strategies in one process collide). A run killed before the end resumes from its last
    checkpoint (every `settings.checkpoint_every` steps, or every epoch) when the same
    settings run again; `restart` discards that checkpoint. `callbacks` are extra Keras
    callbacks for the fit.
    """
    check_output_dir(settings.output_dir, "model",
                     (settings.data.data_dir, settings.teacher_model, settings.student_model,
                      settings.tinybert, *settings.extra_teachers))
    strategy = strategy or make_strategy(settings.distribution_strategy)
    stage = _setup(settings, dataset, strategy, restart)
    return _finish(stage, *_fit(stage, strategy, callbacks))
