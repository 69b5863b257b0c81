"""Checkpoint import: the three Hugging Face formats load to identical encoders; bad files fail clearly."""

import json
import logging

import numpy as np
import pytest

from nlu_tf.errors import InputError
from nlu_tf.model_io.hf_encoder import load_hf_encoder
from tests import checkpoint_writers as writers
from tests.tiny import TINY_CONFIG, random_bert_state, random_mlm_head_state
from tests.torch_bin_writer import write_malicious_bin

CONFIG = {**TINY_CONFIG, "vocab_size": 120}
IDS = np.array([[2, 17, 45, 99, 3, 0, 0], [2, 5, 6, 7, 8, 9, 3]], dtype=np.int32)
INPUTS = {"input_ids": IDS, "attention_mask": (IDS != 0).astype(np.int32),
          "token_type_ids": np.zeros_like(IDS)}


def _model_dir(tmp_path, name, write, state=None, config=CONFIG):
    directory = tmp_path / name
    directory.mkdir()
    (directory / "config.json").write_text(json.dumps(config))
    write(state if state is not None else random_bert_state(config, seed=7), str(directory))
    return str(directory)


def _outputs(directory):
    out = load_hf_encoder(directory)(INPUTS)
    return np.concatenate([out["sequence_output"].numpy().ravel(),
                           out["pooled_output"].numpy().ravel()])


@pytest.mark.parametrize("write", [
    writers.write_safetensors,
    writers.write_torch_bin,
    lambda s, d: writers.write_safetensors(s, d, prefix=""),
    writers.write_tf_h5,
    lambda s, d: writers.write_tf_h5(s, d, num_heads=CONFIG["num_attention_heads"]),
], ids=["safetensors", "pytorch_bin", "safetensors_no_prefix", "tf_h5", "tf_h5_einsum"])
def test_every_format_loads_to_identical_outputs(tmp_path, write):
    reference = _outputs(_model_dir(tmp_path, "reference", writers.write_safetensors))
    np.testing.assert_array_equal(_outputs(_model_dir(tmp_path, "other", write)), reference)


def test_outputs_depend_on_the_weights(tmp_path):
    a = _outputs(_model_dir(tmp_path, "a", writers.write_safetensors))
    b = _outputs(_model_dir(tmp_path, "b", writers.write_safetensors,
                            random_bert_state(CONFIG, seed=8)))
    assert np.abs(a - b).max() > 1e-3


def test_extra_heads_are_reported_and_skipped(tmp_path, caplog):
    state = random_bert_state(CONFIG, seed=7)
    extra = {"cls.predictions.bias": np.zeros(120, np.float32),
             "fit_denses.0.weight": np.zeros((768, 32), np.float32),
             "embeddings.position_ids": np.arange(64)[None]}
    directory = _model_dir(tmp_path, "extra", writers.write_torch_bin, {**state, **extra})
    with caplog.at_level(logging.INFO, logger="nlu_tf.checkpoints.hf_reader"):
        reference = _outputs(_model_dir(tmp_path, "plain", writers.write_torch_bin, state))
        np.testing.assert_array_equal(_outputs(directory), reference)
    assert "skipped 2 weights outside the encoder (cls, fit_denses)" in caplog.text


def test_missing_encoder_keys_are_listed(tmp_path):
    state = random_bert_state(CONFIG, seed=7)
    del state["encoder.layer.1.output.dense.weight"], state["pooler.dense.bias"]
    directory = _model_dir(tmp_path, "missing", writers.write_safetensors, state)
    with pytest.raises(InputError, match=r"missing encoder weights: encoder.layer.1.output."
                                         r"dense.weight, pooler.dense.bias"):
        load_hf_encoder(directory)


def test_shape_mismatch_names_the_key(tmp_path):
    directory = _model_dir(tmp_path, "shape", writers.write_safetensors,
                           random_bert_state({**CONFIG, "intermediate_size": 48}, seed=7))
    with pytest.raises(InputError, match=r"intermediate.dense.weight: shape \(48, 32\)"):
        load_hf_encoder(directory)


def test_reading_and_assigning_give_the_same_one_line_errors(tmp_path):
    """One builder per error kind: the file check and the Keras assignment say the same."""
    from nlu_tf.checkpoints.hf_reader import canonical_state, mlm_head_state
    from nlu_tf.model_io.hf_encoder import assign_state, load_mlm_head
    from nlu_tf.models.mlm_head import MaskedLMHead

    encoder = load_hf_encoder(_model_dir(tmp_path, "m", writers.write_safetensors))
    state = canonical_state(random_bert_state(CONFIG, seed=7))
    missing = {key: value for key, value in state.items()
               if key not in ("encoder.layer.1.output.dense.weight", "pooler.dense.bias")}
    with pytest.raises(InputError) as read:
        load_hf_encoder(_model_dir(tmp_path, "missing", writers.write_safetensors, missing))
    with pytest.raises(InputError) as assigned:
        assign_state(encoder, missing, read.value.path)
    assert str(assigned.value) == str(read.value)
    narrow = canonical_state(random_bert_state({**CONFIG, "intermediate_size": 48}, seed=7))
    with pytest.raises(InputError, match=r"encoder.layer.0.intermediate.dense.weight: shape "
                                         r"\(48, 32\) does not fit the config "
                                         r"\(expected \(32, 64\)\)"):
        assign_state(encoder, narrow, "weights")
    head = {**mlm_head_state(random_mlm_head_state(CONFIG)),
            "transform.dense.weight": np.zeros((3, 3), np.float32)}
    with pytest.raises(InputError, match=r"cls.predictions.transform.dense.weight: shape "
                                         r"\(3, 3\) does not fit the config"):
        load_mlm_head(MaskedLMHead(CONFIG["vocab_size"], CONFIG["hidden_size"]), head,
                      state["embeddings.word_embeddings.weight"], "weights")


def test_malicious_pickle_is_refused_and_never_executed(tmp_path):
    directory = tmp_path / "evil"
    directory.mkdir()
    (directory / "config.json").write_text(json.dumps(CONFIG))
    marker = tmp_path / "pwned"
    write_malicious_bin(str(directory / "pytorch_model.bin"), str(marker))
    with pytest.raises(InputError, match="os.system"):
        load_hf_encoder(str(directory))
    assert not marker.exists()


def test_directory_without_weights_or_config(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="config.json not found"):
        load_hf_encoder(str(empty))
    (empty / "config.json").write_text(json.dumps(CONFIG))
    with pytest.raises(InputError, match="no weight file"):
        load_hf_encoder(str(empty))
    (empty / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(InputError, match="cannot read weights"):
        load_hf_encoder(str(empty))


def test_encoder_returns_every_hidden_state_and_pre_softmax_scores(tmp_path):
    encoder = load_hf_encoder(_model_dir(tmp_path, "m", writers.write_safetensors))
    out = encoder(INPUTS)
    assert len(out["hidden_states"]) == CONFIG["num_hidden_layers"] + 1
    assert len(out["attention_scores"]) == CONFIG["num_hidden_layers"]
    scores = out["attention_scores"][0].numpy()
    assert scores.shape == (2, CONFIG["num_attention_heads"], 7, 7)
    # Pre-softmax and before the mask: padded keys keep ordinary finite values.
    assert np.isfinite(scores).all() and np.abs(scores[0, :, :, 5:]).max() < 100
    np.testing.assert_array_equal(out["hidden_states"][-1].numpy(),
                                  out["sequence_output"].numpy())
