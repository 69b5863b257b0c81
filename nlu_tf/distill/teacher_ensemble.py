"""Several fine-tuned teachers read as one by distillation: the mean of their logits.

Stage 2.2 learns from the teachers' intent and slot logits, averaged; stage 2.1 and the
layer maps read the first teacher's hidden states and attention scores (its members may
differ in depth or width: only the heads' outputs are averaged). Every member reads the
same token ids and predicts the same labels, which `check_members` makes sure of.
"""

import keras
from keras import ops

from nlu_tf.distill.teacher_outputs import LOGITS
from nlu_tf.errors import InputError


class TeacherEnsemble(keras.Model):
    """Frozen teachers whose logits are averaged; the first one's other outputs.

    Args:
        members: `JointNLUModel`s with the same labels (the first: hidden states,
            attention scores, `encoder`).

    Example:
    >>> teacher = TeacherEnsemble([first.model, second.model])
    >>> teacher(inputs)["slot_logits"]  # the mean of both teachers' slot logits
    """

    def __init__(self, members, **kwargs):
        super().__init__(**kwargs)
        if len(members) < 2:
            raise ValueError("an ensemble needs at least two teachers")
        self.members = list(members)

    # The first teacher's, read by the objectives and the teacher-output cache.
    @property
    def encoder(self):
        return self.members[0].encoder

    @property
    def num_intents(self):
        return self.members[0].num_intents

    @property
    def num_slots(self):
        return self.members[0].num_slots

    @property
    def output_sizes(self):
        return self.members[0].output_sizes

    def call(self, inputs, training=False):
        outputs = [member(inputs, training=training) for member in self.members]
        averaged = {name: ops.mean(ops.stack([out[name] for out in outputs]), axis=0)
                    for name in LOGITS if name in outputs[0]}
        return {**outputs[0], **averaged}

    def get_config(self):
        return {"members": [member.get_config() for member in self.members]}


def check_members(first, others, paths):
    """Raises `InputError` naming the teacher that reads other token ids or predicts other
    labels than `first` (`ModelBundle`s; `paths` names `others`)."""
    for bundle, path in zip(others, paths):
        if bundle.tokenizer.vocab != first.tokenizer.vocab:
            raise InputError(path, "its vocabulary differs from the first teacher's: an "
                                   "ensemble's teachers read the same token ids")
        if (bundle.labels.intents != first.labels.intents
                or bundle.labels.slots != first.labels.slots):
            raise InputError(path, "its intent or slot labels differ from the first "
                                   "teacher's")
        if bundle.max_seq_len < first.max_seq_len:
            raise InputError(path, f"it reads at most {bundle.max_seq_len} tokens, the first "
                                   f"teacher {first.max_seq_len}")
