"""Training and batch-inference throughput of a joint model, measured like the PyTorch reference.

The batches are the reference's: consecutive training utterances from the start of the
file, `batch_size` at a time, padded to `max_seq_len` ("fixed") or to the batch's longest
("batch", rounded up to the bucket width so XLA compiles few shapes). Compilation is
timed apart: every shape is compiled before the timed steps. Batch inference is timed on
the reference's batches (`infer_file_order_examples_per_s`) and as nlu_tf runs it, the
same examples batched by length (`infer_examples_per_s`, `inference_batches`). The model
computes in the dtype policy it was built with (`mixed_precision` only adds loss scaling
for float16).
"""

import os
import tempfile
import time

import keras
import numpy as np

from nlu_tf.data.dataset import inference_batches, pad_batch, with_teacher
from nlu_tf.data.features import encode_examples
from nlu_tf.distill.distiller import Distiller
from nlu_tf.distill.objectives import SupervisedObjective
from nlu_tf.distill.teacher_cache_fill import cached_teacher
from nlu_tf.decoding import keras_logits_fn
from nlu_tf.surgery.student import cut_from_teacher
from nlu_tf.training.objective_factory import make_mapping_objective
from nlu_tf.training.optimizer import with_loss_scale
from nlu_tf.training.settings import DistillSettings


def _batches(features, batch_size, steps, padding, max_seq_len, bucket_width, offset=0,
             teacher=None):
    width = bucket_width if padding == "batch" else max_seq_len
    batches = []
    for step in range(steps):
        indices = np.arange(offset + step * batch_size, offset + (step + 1) * batch_size)
        indices %= len(features)
        inputs, targets = pad_batch(features, indices, width, max_seq_len)
        if padding == "fixed":
            inputs, targets = _pad_to(inputs, targets, max_seq_len, features.pad_id)
        batches.append(with_teacher((inputs, targets), teacher, indices))
    return batches


def _pad_to(inputs, targets, length, pad_id):
    extra = length - inputs["input_ids"].shape[1]
    grow = lambda a, value: np.pad(a, ((0, 0), (0, extra)), constant_values=value)  # noqa: E731
    inputs = {k: grow(v, pad_id if k == "input_ids" else 0) for k, v in inputs.items()}
    return inputs, {"intent": targets["intent"], "slots": grow(targets["slots"], -100)}


def measure(bundle, examples, test_examples, batch_size=32, train_steps=30, padding="batch",
            bucket_width=8, jit_compile=True, learning_rate=5e-5, mixed_precision="float32"):
    """Returns a dict of train / inference examples per second and compile seconds.

    `bundle`'s model computes in `mixed_precision` (build it with that `dtype`)."""
    max_seq_len = bundle.max_seq_len
    features = encode_examples(examples, bundle.tokenizer, bundle.labels, max_seq_len)
    batches = _batches(features, batch_size, train_steps + 3, padding, max_seq_len, bucket_width)
    trainer = Distiller(bundle.model, SupervisedObjective())
    train_eps, compile_seconds, shapes = _time_steps(trainer, batches, learning_rate,
                                                     jit_compile, mixed_precision)

    n = (len(test_examples) // batch_size) * batch_size
    test = encode_examples(test_examples[:n], bundle.tokenizer, bundle.labels, max_seq_len)
    in_order = [b[0] for b in _batches(test, batch_size, n // batch_size, padding,
                                       max_seq_len, bucket_width)]
    by_length = in_order if padding == "fixed" else [
        inputs for _, inputs in inference_batches(test, batch_size, bucket_width)]
    logits = keras_logits_fn(bundle.model, jit_compile)
    in_order_eps, infer_eps = (_inference_rate(logits, b) for b in (in_order, by_length))
    return {"padding": padding, "batch_size": batch_size, "max_seq_len": max_seq_len,
            "mixed_precision": mixed_precision, "jit_compile": jit_compile,
            "train_examples_per_s": round(train_eps, 2),
            "infer_examples_per_s": round(infer_eps, 2),
            "infer_file_order_examples_per_s": round(in_order_eps, 2),
            "compile_seconds": round(compile_seconds, 1), "train_shapes": shapes}


def measure_distill(bundle, examples, num_layers, batch_size=32, train_steps=30,
                    padding="batch", bucket_width=8, jit_compile=True, learning_rate=1e-4,
                    mixed_precision="float32", teacher_cache=False):
    """Examples/s of a TinyBERT stage-2.1 step through the `Distiller`: `bundle` as the
    frozen teacher, a `num_layers` student cut from it, the uniform mapping's embedding,
    hidden-state and attention losses (the step `tools/train.py --stage 2.1` runs).

    With `teacher_cache` the batches carry the teacher's outputs, cached before the
    timing (in a temporary folder, the fill timed apart, compilation included), as
    every epoch of a stage reads them after the first pass: the step runs no teacher.
    """
    student = cut_from_teacher(bundle, num_layers)
    objective = make_mapping_objective(DistillSettings(layer_mapping="uniform"),
                                       student.model.encoder, bundle.model.encoder,
                                       "student").objective
    # Only the examples the batches hold (consecutive from the first): the cache needs no more.
    used = examples[:(train_steps + 3) * batch_size]
    features = encode_examples(used, bundle.tokenizer, bundle.labels, bundle.max_seq_len)
    trainer = Distiller(student.model, objective, bundle.model)
    result = {"distill_layers": num_layers, "distill_teacher_cache": bool(teacher_cache)}
    with tempfile.TemporaryDirectory() as folder:
        cache = None
        if teacher_cache:
            started = time.perf_counter()
            cache = cached_teacher(trainer, features, os.path.join(folder, "teacher_cache"), "",
                                   bundle.max_seq_len, batch_size, float("inf"), bucket_width,
                                   jit_compile, progress=False)
            if cache is None:
                raise RuntimeError(f"no room for the teacher-output cache in {folder}")
            result["distill_cache_fill_seconds"] = round(time.perf_counter() - started, 1)
            result["distill_cache_mb"] = round(cache.nbytes / 1e6, 1)
        batches = _batches(features, batch_size, train_steps + 3, padding, bundle.max_seq_len,
                           bucket_width, teacher=cache)
        eps, compile_seconds, shapes = _time_steps(trainer, batches, learning_rate, jit_compile,
                                                   mixed_precision)
    return {**result, "distill_examples_per_s": round(eps, 2),
            "distill_compile_seconds": round(compile_seconds, 1), "distill_shapes": shapes}


def _inference_rate(logits, batches):
    """Examples/s of one pass of `logits` over `batches`, every shape compiled before."""
    for shape in {inputs["input_ids"].shape for inputs in batches}:
        logits(next(inputs for inputs in batches if inputs["input_ids"].shape == shape))
    started = time.perf_counter()
    for inputs in batches:
        logits(inputs)
    return sum(len(inputs["input_ids"]) for inputs in batches) / (time.perf_counter() - started)


def _time_steps(trainer, batches, learning_rate, jit_compile, mixed_precision):
    """(examples/s over batches[3:], compile seconds, shapes): every batch shape is
    compiled and run once before the timed steps, as the reference warms up 3 steps."""
    trainer.compile(optimizer=with_loss_scale(keras.optimizers.AdamW(learning_rate),
                                              mixed_precision),
                    jit_compile=jit_compile)
    trainer.make_train_function()
    step = trainer.train_function
    started = time.perf_counter()
    seen = set()
    for inputs, targets in batches:
        shape = inputs["input_ids"].shape
        if shape not in seen:
            seen.add(shape)
            step(iter([(inputs, targets)]))
    compile_seconds = time.perf_counter() - started
    timed = batches[3:]
    started = time.perf_counter()
    for batch in timed:
        step(iter([batch]))
    examples = sum(len(b[1]["intent"]) for b in timed)
    return examples / (time.perf_counter() - started), compile_seconds, len(seen)
