"""General distillation (tools/general_distill.py) on the tiny BERT: BERT-EMD's command
lines, the Hugging Face layout of the student, resuming after a kill, and tf.distribute."""

import json
import os
import shutil
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from safetensors import safe_open
from scipy.special import erf

from nlu_tf.checkpoints.hf_names import encoder_shapes
from nlu_tf.data.reader import LabelMaps
from nlu_tf.distill.losses import IGNORE
from nlu_tf.errors import InputError
from nlu_tf.model_io.hf_encoder import load_hf_encoder
from nlu_tf.model_io.model_dir import from_pretrained
from nlu_tf.surgery.student import from_tinybert
from tests.tiny import REPO, SNIPS

PREGENERATE = os.path.join(REPO, "tools", "pregenerate_training_data.py")
GENERAL = os.path.join(REPO, "tools", "general_distill.py")
STUDENT_CONFIG = {"hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 4,
                  "intermediate_size": 32, "max_position_embeddings": 64, "hidden_act": "gelu"}


def _run(*args):
    env = {**os.environ, "PYTHONPATH": REPO, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run([sys.executable, *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=600)


def write_corpus(path, lines=300, per_document=6):
    """Snips training utterances, `per_document` sentences per document."""
    with open(os.path.join(SNIPS, "train", "seq.in"), encoding="utf-8") as f:
        sentences = [next(f).strip() for _ in range(lines)]
    with open(path, "w", encoding="utf-8") as f:
        for start in range(0, lines, per_document):
            f.write("\n".join(sentences[start:start + per_document]) + "\n\n")
    return path


def write_student_config(directory, vocab_size):
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump({**STUDENT_CONFIG, "vocab_size": vocab_size}, f)
    return directory


def _vocab_size(bert_dir):
    with open(os.path.join(bert_dir, "vocab.txt"), encoding="utf-8") as f:
        return sum(1 for _ in f)


@pytest.fixture(scope="module")
def run_dirs(tmp_path_factory, tiny_bert_dir):
    """BERT-EMD's two commands, paths adapted: pregenerate, then general distillation."""
    root = tmp_path_factory.mktemp("general")
    corpus = write_corpus(str(root / "corpus.txt"))
    data = str(root / "corpus_json")
    done = _run(PREGENERATE, "--train_corpus", corpus, "--bert_model", tiny_bert_dir,
                "--reduce_memory", "--do_lower_case", "--epochs_to_generate", "2",
                "--output_dir", data, "--max_seq_len", "32")
    assert done.returncode == 0, done.stderr[-3000:]
    student_config = write_student_config(str(root / "student_config"),
                                          _vocab_size(tiny_bert_dir))
    output = str(root / "general_student")
    done = _run(GENERAL, "--pregenerated_data", data, "--teacher_model", tiny_bert_dir,
                "--student_model", student_config, "--reduce_memory", "--do_lower_case",
                "--output_dir", output, "--num_train_epochs", "2", "--train_batch_size", "16",
                "--learning_rate", "1e-3", "--nojit_compile", "--checkpoint_every", "4")
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    return {"data": data, "student_config": student_config, "output": output,
            "summary": summary, "root": root}


def _batch(vocab_size, seed=0, batch=3, length=12):
    rng = np.random.default_rng(seed)
    ids = rng.integers(5, vocab_size, (batch, length)).astype(np.int32)
    mask = np.ones_like(ids)
    mask[1, 7:] = 0
    mask[2, 4:] = 0
    types = np.zeros_like(ids)
    types[0, 6:] = 1
    return ids, mask, types


def _layer_norm(x, state, key, eps):
    mean, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * state[key + ".weight"] + state[key + ".bias"]


def _reference_bert(state, config, ids, mask, types):
    """BertModel's forward pass in numpy, reading tensors by their transformers names."""
    state = {k[len("bert."):] if k.startswith("bert.") else k: v.astype(np.float64)
             for k, v in state.items()}
    eps, heads = config["layer_norm_eps"], config["num_attention_heads"]

    def dense(x, key):
        return x @ state[key + ".weight"].T + state[key + ".bias"]

    x = (state["embeddings.word_embeddings.weight"][ids]
         + state["embeddings.position_embeddings.weight"][np.arange(ids.shape[1])][None]
         + state["embeddings.token_type_embeddings.weight"][types])
    x = _layer_norm(x, state, "embeddings.LayerNorm", eps)
    b, length, width = x.shape
    size = width // heads
    for n in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{n}."

        def split(t):
            return t.reshape(b, length, heads, size).transpose(0, 2, 1, 3)

        q, k, v = (split(dense(x, p + f"attention.self.{name}")) for name in ("query", "key", "value"))
        scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(size) + (1.0 - mask[:, None, None, :]) * -1e9
        probs = np.exp(scores - scores.max(-1, keepdims=True))
        probs /= probs.sum(-1, keepdims=True)
        context = (probs @ v).transpose(0, 2, 1, 3).reshape(b, length, width)
        x = _layer_norm(dense(context, p + "attention.output.dense") + x, state,
                        p + "attention.output.LayerNorm", eps)
        inner = dense(x, p + "intermediate.dense")
        inner = 0.5 * inner * (1.0 + erf(inner / np.sqrt(2.0)))
        x = _layer_norm(dense(inner, p + "output.dense") + x, state, p + "output.LayerNorm", eps)
    return x


def test_student_is_written_under_bert_model_key_names(run_dirs):
    output = run_dirs["output"]
    assert sorted(os.listdir(output)) == ["config.json", "general_distill.json",
                                          "model.safetensors", "tensorboard",
                                          "tokenizer_config.json", "vocab.txt"]
    events = [event for name in os.listdir(os.path.join(output, "tensorboard"))
              for event in tf.compat.v1.train.summary_iterator(
                  os.path.join(output, "tensorboard", name))]
    tags = {value.tag for event in events for value in event.summary.value}
    assert {"train/loss", "train/learning_rate"} <= tags, tags
    with open(os.path.join(output, "config.json")) as f:
        config = json.load(f)
    assert config["model_type"] == "bert"
    assert {k: config[k] for k in STUDENT_CONFIG} == STUDENT_CONFIG
    ours = {"vocab_size": config["vocab_size"], "hidden_size": 16, "num_layers": 1,
            "intermediate_size": 32, "max_position_embeddings": 64, "type_vocab_size": 2}
    with safe_open(os.path.join(output, "model.safetensors"), "numpy") as f:
        assert f.metadata() == {"format": "pt"}  # transformers refuses a file without it
        shapes = {key: tuple(f.get_slice(key).get_shape()) for key in f.keys()}
    # BertModel.save_pretrained's names and PyTorch layouts: Dense weight (out, in).
    assert shapes == encoder_shapes(ours)
    assert shapes["encoder.layer.0.intermediate.dense.weight"] == (32, 16)
    transformers = pytest.importorskip("transformers")
    hf = transformers.BertConfig.from_pretrained(output)
    assert (hf.num_hidden_layers, hf.hidden_size, hf.num_attention_heads) == (1, 16, 4)


def test_student_loads_by_key_names_and_in_nlu_tf_with_identical_outputs(
        run_dirs, tiny_bert_dir, tiny_data_dir):
    output = run_dirs["output"]
    with open(os.path.join(output, "config.json")) as f:
        config = json.load(f)
    with safe_open(os.path.join(output, "model.safetensors"), "numpy") as f:
        state = {key: f.get_tensor(key) for key in f.keys()}
    ids, mask, types = _batch(config["vocab_size"])
    reference = _reference_bert(state, config, ids, mask, types)
    # The same tensors under BertForPreTraining's names (`bert.` prefix, as TinyBERT ships).
    prefixed = _reference_bert({"bert." + k: v for k, v in state.items()}, config, ids, mask, types)
    np.testing.assert_array_equal(reference, prefixed)
    inputs = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
    encoder = load_hf_encoder(output)
    ours = encoder(inputs)["sequence_output"].numpy()
    real = mask.astype(bool)
    assert np.abs(ours[real] - reference[real]).max() < 1e-5
    # --tinybert / student.tinybert: the student of stage 2.1 starts from these weights.
    teacher = from_pretrained(tiny_bert_dir, LabelMaps.from_dir(tiny_data_dir), 32)
    student = from_tinybert(output, teacher)
    np.testing.assert_array_equal(student.model.encoder(inputs)["sequence_output"].numpy(), ours)


def test_new_shape_starts_from_bert_initialisation(tmp_path, tiny_bert_dir):
    from nlu_tf.data.tokenizer import WordPieceTokenizer
    from nlu_tf.pretraining.general_distill import load_student

    config_dir = write_student_config(str(tmp_path / "s"), _vocab_size(tiny_bert_dir))
    tokenizer = WordPieceTokenizer.from_model_dir(tiny_bert_dir)
    student, new = load_student(config_dir, tokenizer, seed=1)
    assert new
    kernel = student.transformer_layers[0].query.kernel.numpy()
    assert abs(kernel.std() - 0.02 * 0.88) < 0.004 and np.abs(kernel).max() <= 0.04
    assert np.all(student.transformer_layers[0].query.bias.numpy() == 0)
    assert np.all(student.embeddings_layer_norm.gamma.numpy() == 1)
    bad = write_student_config(str(tmp_path / "bad"), _vocab_size(tiny_bert_dir) + 1)
    with pytest.raises(InputError, match="vocab_size"):
        load_student(bad, tokenizer, seed=1)


def test_loss_falls_and_batches_carry_no_labels(run_dirs):
    from nlu_tf.pretraining.general_distill import read_epochs
    from nlu_tf.pretraining.records import pretraining_dataset

    with open(os.path.join(run_dirs["output"], "general_distill.json")) as f:
        metrics = json.load(f)["metrics"]
    assert metrics["student_initialisation"].startswith("random")
    assert metrics["loss_history"][-1] < metrics["loss_history"][0]
    epochs = read_epochs(run_dirs["data"])
    inputs, targets = next(iter(pretraining_dataset([e[:2] for e in epochs], 8, 0)))
    assert inputs["input_ids"].shape == (8, 32)
    assert np.all(targets["intent"].numpy() == IGNORE) and np.all(targets["slots"].numpy() == IGNORE)


class _Interrupt(Exception):
    pass


# One kill test covers resuming, `max_steps` and the held-out losses: a second uninterrupted
# run and kill only for the weights would double the file's slowest part.
def test_killed_run_with_max_steps_and_held_out_losses_ends_like_the_uninterrupted_one(
        run_dirs, tiny_bert_dir):
    from nlu_tf.pretraining.general_distill import general_distill
    from nlu_tf.pretraining.settings import GeneralDistillSettings
    from nlu_tf.training.settings import OptimizerSettings

    def settings(name):
        return GeneralDistillSettings(
            pregenerated_data=run_dirs["data"], teacher_model=tiny_bert_dir,
            student_model=run_dirs["student_config"], output_dir=str(run_dirs["root"] / name),
            num_train_epochs=2, max_steps=7, held_out_data=run_dirs["data"],
            train_batch_size=16, jit_compile=False, checkpoint_every=4, verbose=0,
            optimizer=OptimizerSettings(learning_rate=1e-3))

    whole = general_distill(settings("held_whole"))
    assert whole["steps"] == 7 and whole["train_examples"] == 7 * 16
    before, after = whole["held_out"]["before"]["losses"], whole["held_out"]["after"]
    assert set(before) == set(after) >= {"loss", "hidden_loss", "att_loss", "emb_loss"}
    assert after["loss"] < before["loss"]

    class KillAtStep(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if int(self.model.optimizer.iterations.numpy()) == 6:
                raise _Interrupt()

    with pytest.raises(_Interrupt):
        general_distill(settings("held_killed"), callbacks=[KillAtStep()])
    assert not os.path.exists(settings("held_killed").output_dir)  # nothing half-written
    resumed = general_distill(settings("held_killed"))
    assert resumed["resumed_from_step"] == 4
    # Measured at step 0 and kept, not measured again at step 4 on resuming.
    assert resumed["held_out"]["before"]["resumed_from_step"] == 0
    for name, value in before.items():
        assert resumed["held_out"]["before"]["losses"][name] == pytest.approx(value, rel=1e-3, abs=1e-5)
    for name, value in after.items():
        assert resumed["held_out"]["after"][name] == pytest.approx(value, rel=1e-3, abs=1e-5)
    with safe_open(os.path.join(settings("held_killed").output_dir, "model.safetensors"),
                   "numpy") as a, \
            safe_open(os.path.join(settings("held_whole").output_dir, "model.safetensors"),
                      "numpy") as b:
        assert set(a.keys()) == set(b.keys())
        for key in a.keys():
            np.testing.assert_allclose(a.get_tensor(key), b.get_tensor(key), atol=1e-6)


def test_bad_inputs_give_one_line(run_dirs, tiny_bert_dir, tmp_path):
    done = _run(GENERAL, "--pregenerated_data", str(tmp_path), "--teacher_model", tiny_bert_dir,
                "--student_model", run_dirs["student_config"], "--output_dir",
                str(tmp_path / "out"))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        f"error: {tmp_path}: no pregenerated data (epoch_0_metrics.json): run "
        "tools/pregenerate_training_data.py first"]
    from nlu_tf.model_io.model_files import FORMAT
    from nlu_tf.pretraining.general_distill import load_teacher

    finetuned = tmp_path / "finetuned"
    finetuned.mkdir()
    (finetuned / "config.json").write_text(json.dumps({"format": FORMAT}))
    with pytest.raises(InputError, match="pre-trained BERT"):
        load_teacher(str(finetuned))


def test_emd_mapping_under_a_mirrored_strategy_matches_one_device(run_dirs, tiny_bert_dir):
    done = _run(os.path.join(REPO, "tests", "general_distributed_check.py"), run_dirs["data"],
                tiny_bert_dir, run_dirs["student_config"], str(run_dirs["root"] / "dist"))
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["max_weight_diff"] < 1e-4, report
    for one, two in zip(report["emd_one_device"].values(), report["emd_two_devices"].values()):
        np.testing.assert_allclose(one, two, atol=1e-5)
    for values in report["emd_one_device"].values():
        assert min(values) >= 0.2 / len(values) - 1e-6


@pytest.mark.parametrize("change, problem", [
    ({"shards": ["/etc/passwd"]}, "not a plain file name"),
    ({"shards": ["../../other.tfrecord"]}, "not a plain file name"),
    ({"shards": []}, "lists no shards"),
    ({"max_seq_len": 0}, "max_seq_len 0 outside"),
    ({"max_seq_len": 1e300}, "outside"),
    ({"num_training_examples": 10 ** 15 * 0}, "not a positive count"),
    ({"num_training_examples": -3}, "not a positive count"),
])
def test_pregenerated_metrics_stay_inside_their_folder_and_in_range(run_dirs, tmp_path, change,
                                                                    problem):
    from nlu_tf.pretraining.general_distill import read_epochs
    from nlu_tf.pretraining.pregenerate import metrics_path

    folder = tmp_path / "data"
    shutil.copytree(run_dirs["data"], folder)
    path = metrics_path(str(folder), 0)
    with open(path, encoding="utf-8") as f:
        metrics = json.load(f)
    metrics.update(change)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(metrics, f)
    with pytest.raises(InputError, match=problem) as error:
        read_epochs(str(folder))
    assert str(error.value).startswith(path)
