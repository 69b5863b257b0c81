"""Weight averaging (`ema_momentum`): dev scores, and the stage keeps, the moving average of
the weights; a killed run resumes to the same averages."""

import os

import keras
import numpy as np

from nlu_tf.io_utils import work_dir
from nlu_tf.training.optimizer import averaged_weights, make_optimizer
from nlu_tf.training.settings import OptimizerSettings
from nlu_tf.training.stage import run_stage
from tests.interrupt import Interrupt, kill_at_step


def _stepped(momentum, steps=5):
    """A one-layer model, its optimizer, and the kernel after each of `steps` updates."""
    keras.utils.set_random_seed(3)
    layer = keras.layers.Dense(3)
    layer.build((None, 4))
    variables = layer.trainable_variables
    optimizer = make_optimizer(OptimizerSettings(learning_rate=0.1, warmup_proportion=0.0,
                                                 ema_momentum=momentum), 100, variables)
    optimizer.build(variables)
    kernels = []
    for step in range(steps):
        optimizer.apply([np.full(v.shape, step + 1.0, "float32") for v in variables], variables)
        kernels.append(variables[0].numpy().copy())
    return variables, optimizer, kernels


def test_averaged_weights_puts_the_moving_average_in_place_and_then_takes_it_out():
    variables, optimizer, kernels = _stepped(0.6)
    expected = kernels[0]
    for kernel in kernels[1:]:
        expected = 0.6 * expected + 0.4 * kernel
    with averaged_weights(optimizer, variables):
        np.testing.assert_allclose(variables[0].numpy(), expected, rtol=1e-5, atol=1e-6)
        assert not np.allclose(variables[0].numpy(), kernels[-1])
    np.testing.assert_array_equal(variables[0].numpy(), kernels[-1])


def test_without_averaging_the_weights_stay_as_trained():
    variables, optimizer, kernels = _stepped(0.0)
    with averaged_weights(optimizer, variables):
        np.testing.assert_array_equal(variables[0].numpy(), kernels[-1])


def _scores(metrics):
    return {key: metrics["dev"][key] for key in ("intent_acc", "slot_f1", "sentence_acc")}


def test_a_stage_scores_and_keeps_the_averaged_weights_and_resumes_to_them(
        tmp_path, settings_factory, tiny_bert_dir):
    def settings(name, momentum):
        return settings_factory(str(tmp_path / name), tiny_bert_dir, num_train_epochs=3,
                                checkpoint_every=3, head_dropout=0.0, eval_step=2,
                                optimizer=OptimizerSettings(learning_rate=3e-3,
                                                            warmup_proportion=0.0,
                                                            ema_momentum=momentum))

    plain = run_stage(settings("plain", 0.0))
    averaged = run_stage(settings("averaged", 0.7))
    # The same training steps (to float rounding: threads sum in any order), scored
    # through other weights.
    np.testing.assert_allclose(averaged["loss_history"], plain["loss_history"], rtol=1e-5)
    assert averaged["dev_history"] != plain["dev_history"]
    # The saved model is the averaged weights of the best dev step: scored again, the same.
    best = [e for e in averaged["dev_history"] if e["step"] == averaged["best_step"]]
    assert best and _scores(averaged) == {k: best[0][k] for k in _scores(averaged)}

    interrupted = settings("resumed", 0.7)
    try:
        run_stage(interrupted, callbacks=[kill_at_step(7)])
    except Interrupt:
        pass
    assert os.path.isdir(work_dir(interrupted.output_dir))
    resumed = run_stage(interrupted)
    assert resumed["resumed_from_step"] == 6
    assert resumed["dev_history"] == averaged["dev_history"]
    assert resumed["dev"] == averaged["dev"]
