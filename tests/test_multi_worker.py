"""Two worker processes on 127.0.0.1 under `--distribution_strategy multi_worker` end with
the weights of a single-process run (same seed, same data, same global batch)."""

import json
import os
import socket
import subprocess
import sys

import numpy as np

from tests.tiny import REPO, write_tiny_bert, write_tiny_dataset

TRAIN = os.path.join(REPO, "tools", "train.py")


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_two_workers_end_with_the_weights_of_one_process(tmp_path):
    from nlu_tf.model_io.model_dir import load_model_dir

    data = write_tiny_dataset(str(tmp_path / "data"))
    # No dropout anywhere: the replicas draw other random masks than the single process.
    bert = write_tiny_bert(str(tmp_path / "bert"), hidden_dropout_prob=0.0,
                           attention_probs_dropout_prob=0.0)
    common = [sys.executable, TRAIN, "--teacher_model", bert, "--data_dir", data,
              "--max_seq_len", "24", "--train_batch_size", "16", "--max_train_examples", "32",
              "--num_train_epochs", "2", "--seed", "3", "--dropout_rate", "0",
              "--learning_rate", "1e-3", "--warmup_proportion", "0", "--max_grad_norm", "0.5",
              "--nojit_compile"]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    env.pop("TF_CONFIG", None)
    single = subprocess.run([*common, "--output_dir", str(tmp_path / "single")],
                            capture_output=True, text=True, env=env, timeout=600)
    assert single.returncode == 0, single.stderr[-3000:]

    cluster = {"worker": [f"127.0.0.1:{port}" for port in _free_ports(2)]}
    workers = []
    for index in range(2):
        config = {"cluster": cluster, "task": {"type": "worker", "index": index}}
        workers.append(subprocess.Popen(
            [*common, "--output_dir", str(tmp_path / f"worker{index}"),
             "--distribution_strategy", "multi_worker"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=dict(env, TF_CONFIG=json.dumps(config))))
    outputs = []
    try:
        outputs = [worker.communicate(timeout=600) for worker in workers]
    finally:
        for worker in workers:
            worker.kill()
    for worker, (_, err) in zip(workers, outputs):
        assert worker.returncode == 0, err[-3000:]

    reference = load_model_dir(str(tmp_path / "single")).model.weights
    for index in range(2):
        weights = load_model_dir(str(tmp_path / f"worker{index}")).model.weights
        assert len(weights) == len(reference)
        diff = max(float(np.abs(a.numpy() - b.numpy()).max())
                   for a, b in zip(weights, reference))
        assert diff < 1e-5, (index, diff)
    metrics = {}
    for name in ("single", "worker0", "worker1"):
        with open(tmp_path / name / "metrics.json") as f:
            metrics[name] = json.load(f)
        assert metrics[name]["steps"] == 4, name  # 32 utterances, global batch 16, 2 epochs
    for name in ("worker0", "worker1"):  # the logged loss is that of the whole global batch
        pairs = zip(metrics[name]["loss_history"], metrics["single"]["loss_history"], strict=True)
        assert all(abs(a - b) < 1e-5 for a, b in pairs), (metrics[name], metrics["single"])
