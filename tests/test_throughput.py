"""The stage-2.1 throughput benchmark times the Distiller's own step on a student cut
from the model, and leaves the teacher as it was."""

import numpy as np

from nlu_tf.benchmark.throughput import measure_distill
from nlu_tf.data.reader import read_dataset
from nlu_tf.models.model_dir import load_any
from tests.tiny import write_tiny_bert, write_tiny_dataset


def test_distill_step_is_timed_and_trains_only_the_student(tmp_path):
    labels, splits = read_dataset(write_tiny_dataset(str(tmp_path / "data")))
    bundle = load_any(write_tiny_bert(str(tmp_path / "bert")), labels, 24)
    before = [w.numpy().copy() for w in bundle.model.weights]
    result = measure_distill(bundle, splits["train"], 1, batch_size=4, train_steps=2,
                             jit_compile=False)
    assert result["distill_layers"] == 1
    assert result["distill_examples_per_s"] > 0
    assert result["distill_shapes"] >= 1
    after = [w.numpy() for w in bundle.model.weights]
    assert all(np.array_equal(a, b) for a, b in zip(before, after))
