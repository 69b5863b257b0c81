"""Gives a `Distiller`'s training examples their teacher-output cache: reused when a
complete cache of the same teacher, data and objective is there, else computed once.

The cache depends on the teacher (its source path, its config and every weight), on the
teacher's input ids (the examples' ids, through the vocabulary map of a trimmed student),
on `max_seq_len` and on the outputs the objective reads (`Objective.teacher_outputs`);
any change gives another fingerprint, and the cache is computed again. Too large a cache
(over the limit, or over the free disk space) is not written: the stage then runs the
teacher every step, as without a cache.
"""

import hashlib
import json
import logging
import os
import shutil

import numpy as np
import tensorflow as tf

from nlu_tf.data.dataset import inference_batches, num_batches
from nlu_tf.distill.teacher_cache import TeacherCache, estimate_bytes, write_teacher_cache
from nlu_tf.progress import ProgressBar

logger = logging.getLogger(__name__)

GB = 10 ** 9


def _hash_arrays(arrays):
    digest = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype}{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def _teacher_digest(model):
    """A hash of a `JointNLUModel`'s config (without its name) and of every weight."""
    config = {k: v for k, v in model.get_config().items() if k not in ("name", "trainable")}
    text = json.dumps(config, sort_keys=True, default=str)
    return {"config": hashlib.sha256(text.encode("utf-8")).hexdigest(),
            "weights": _hash_arrays(w.numpy() for w in model.weights)}


def depends_on(distiller, features, teacher_source, max_seq_len):
    """What the cached outputs of `distiller`'s teacher on `features` depend on (JSON-ready)."""
    ids = features.input_ids
    return {"teacher": os.path.abspath(teacher_source) if teacher_source else "",
            **_teacher_digest(distiller.teacher),
            "teacher_ids": (None if distiller.teacher_ids is None
                            else _hash_arrays([np.asarray(distiller.teacher_ids, np.int64)])),
            "input_ids": _hash_arrays([features.lengths,
                                       np.concatenate(ids) if ids else np.zeros(0, np.int32)]),
            "examples": len(features), "max_seq_len": int(max_seq_len),
            "outputs": distiller.objective.teacher_outputs().to_dict()}


def cached_teacher(distiller, features, folder, teacher_source, max_seq_len, batch_size, max_gb,
                   bucket_width=8, jit_compile=True, progress=True, epochs=None):
    """The `TeacherCache` of `distiller`'s training `features`, or None to run uncached.

    Args:
        distiller: the stage's `Distiller`; None is returned without a teacher or when its
            objective reads no teacher output.
        features: the training `Features`, in their original order.
        folder: the cache folder (in the stage's work folder, so a resumed run finds it).
        teacher_source: the teacher's model directory (recorded in the fingerprint).
        max_seq_len: the stage's longest sequence.
        batch_size: examples per teacher batch while filling (the eval batch size).
        max_gb: the largest cache written, in GB (10^9 bytes); larger: None, logged.
        bucket_width: batch lengths of the filling pass (see `inference_batches`).
        jit_compile: XLA-compile the filling pass.
        progress: draw a progress bar on stderr while filling.
        epochs: how many epochs the stage trains (None: unknown). Filling costs about one
            uncached epoch's teacher passes, so a stage of one epoch or less only reuses
            a cache that is already there and otherwise runs the teacher every step.
    """
    if distiller.teacher is None:
        return None
    needs = distiller.objective.teacher_outputs()
    if not needs.keys:
        return None
    depends = depends_on(distiller, features, teacher_source, max_seq_len)
    cache = TeacherCache.open(folder, depends)
    if cache is not None:
        print(f"teacher outputs: reusing the cache in {folder}", flush=True)
        return cache
    if epochs is not None and epochs <= 1:
        print(f"teacher outputs: not cached (a stage of {epochs:g} epoch(s) runs the teacher "
              f"on fewer examples than filling the cache would)", flush=True)
        return None
    shapes = needs.shapes(distiller.teacher)
    size = estimate_bytes(shapes, features.lengths)
    parent = os.path.dirname(os.path.abspath(folder))
    os.makedirs(parent, exist_ok=True)
    free = shutil.disk_usage(parent).free
    if size > max_gb * GB or size > free:
        logger.warning("teacher outputs not cached: %.2f GB needed, over the %s "
                       "(teacher_cache_max_gb %g, %.2f GB free in %s); running the teacher "
                       "every step", size / GB,
                       "limit" if size > max_gb * GB else "free disk space", max_gb,
                       free / GB, parent)
        return None

    @tf.function(jit_compile=jit_compile, reduce_retracing=True)
    def compute(inputs):
        return needs.select(distiller.teacher_forward(inputs))

    batches = inference_batches(features, batch_size, bucket_width)
    bar = ProgressBar(num_batches(len(features), batch_size),
                      f"caching teacher outputs ({size / GB:.2f} GB)") if progress else None
    return write_teacher_cache(folder, depends, shapes, features.lengths, batches,
                               compute, bar)
