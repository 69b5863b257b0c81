"""Checkpoints that let a killed training run continue where it stopped.

The work folder of a run is a hidden sibling of its output directory
(`.<name>.work/`). At the end of every checkpoint interval the trainer's weights (student,
objective, optimizer state), its dropout seed states, the step, the run settings and the dev evaluator's state are
written there atomically (temporary folder + rename), so a kill at any moment leaves
either the previous checkpoint or the new one, never half of one. Rerunning the same
command restores them; the folder (with the stage's teacher-output cache, also kept
there) is removed once the model directory is written.
"""

import json
import os
import shutil

import keras
import numpy as np

from nlu_tf.errors import InputError
from nlu_tf.io_utils import atomic_dir, work_dir, write_json
from nlu_tf.training.settings import same_run

TRAINER_WEIGHTS = "trainer.weights.h5"
BEST_WEIGHTS = "best_student.npz"
STATE = "state.json"
SEED_STATES = "seed_states.npz"


def _seed_states(model):
    """The dropout seed-generator states of `model`, in its (structural) variable order.

    `save_weights` leaves them out; without them a resumed run would draw the dropout
    masks of its first steps again instead of those that follow the checkpoint.
    """
    return [v for v in model.variables if v.path.endswith("seed_generator_state")]


class TrainingCheckpoint(keras.callbacks.Callback):
    """Saves the training state at the end of every Keras epoch (one checkpoint interval).

    Args:
        output_dir: the run's output directory; the checkpoint lives in `work_dir(output_dir)`.
        settings: the run settings as a dict; a checkpoint of other settings is refused.
        evaluator: the `DevEvaluator` whose best weights and history are kept, or None.
    """

    def __init__(self, output_dir, settings, evaluator=None):
        super().__init__()
        self.folder = os.path.join(work_dir(output_dir), "checkpoint")
        self.settings = settings
        self.evaluator = evaluator
        # The training loss at the end of every interval, the intervals of a resumed run's
        # earlier life included (restored from the checkpoint).
        self.loss_history = []

    def restore(self, trainer):
        """Loads the last checkpoint into `trainer` (a compiled `Distiller`); returns its step.

        Returns 0 when there is no checkpoint. A checkpoint written by a run with other
        settings is an `InputError` (rerun with the same flags, or restart).
        """
        state_path = os.path.join(self.folder, STATE)
        if not os.path.isfile(state_path):
            return 0
        with open(state_path, encoding="utf-8") as f:
            state = json.load(f)
        if not same_run(state["settings"], self.settings):
            raise InputError(self.folder, "a checkpoint of a run with other settings is here: "
                                          "rerun with the same flags, or start over with --restart")
        trainer.optimizer.build(trainer.train_variables)
        trainer.load_weights(os.path.join(self.folder, TRAINER_WEIGHTS))
        self.loss_history = [float(value) for value in state.get("loss_history", [])]
        seeds_path = os.path.join(self.folder, SEED_STATES)
        if os.path.isfile(seeds_path):
            with np.load(seeds_path) as arrays:
                saved = [arrays[f"arr_{i}"] for i in range(len(arrays.files))]
            states = _seed_states(trainer)
            if len(saved) == len(states):
                for variable, value in zip(states, saved):
                    variable.assign(value)
        if self.evaluator is not None and state.get("evaluator"):
            best_path = os.path.join(self.folder, BEST_WEIGHTS)
            best = None
            if os.path.isfile(best_path):
                with np.load(best_path) as arrays:
                    best = [arrays[f"w{i}"] for i in range(len(arrays.files))]
            self.evaluator.load_state(state["evaluator"], best)
        print(f"resuming from the checkpoint at step {state['step']} ({self.folder})", flush=True)
        return int(state["step"])

    def on_epoch_end(self, epoch, logs=None):
        step = int(self.model.optimizer.iterations.numpy())
        if logs and "loss" in logs:
            self.loss_history.append(float(logs["loss"]))
        with atomic_dir(self.folder, "checkpoint") as tmp:
            self.model.save_weights(os.path.join(tmp, TRAINER_WEIGHTS))
            np.savez(os.path.join(tmp, SEED_STATES), *[v.numpy() for v in _seed_states(self.model)])
            state = {"step": step, "settings": self.settings,
                     "loss_history": self.loss_history}
            if self.evaluator is not None:
                state["evaluator"] = self.evaluator.state()
                if self.evaluator.best_weights is not None:
                    np.savez(os.path.join(tmp, BEST_WEIGHTS),
                             **{f"w{i}": w for i, w in enumerate(self.evaluator.best_weights)})
            write_json(os.path.join(tmp, STATE), state)

    def clear(self):
        """Removes the work folder (after the model directory is written)."""
        shutil.rmtree(os.path.dirname(self.folder), ignore_errors=True)
