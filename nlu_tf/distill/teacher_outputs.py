"""Which outputs of the frozen teacher an objective reads, by name and layer.

A `TeacherOutputs` names them; it flattens a teacher's output dict into one tensor per
needed output (`select`), so that a teacher-output cache stores only those, and turns
such a flat dict back into the teacher's layout (`restore`), which objectives index as
they index a live teacher's outputs.
"""

import dataclasses

HIDDEN, ATTENTION = "hidden_states", "attention_scores"
LOGITS = ("intent_logits", "slot_logits", "logits")  # joint heads; a GLUE model's head
LENGTH = -1  # the place of the sequence length in a per-example shape


def _indices(values):
    return tuple(sorted({int(v) for v in values}))


@dataclasses.dataclass(frozen=True)
class TeacherOutputs:
    """The teacher outputs an objective reads.

    Args:
        hidden_states: indices into the teacher's `hidden_states` (0: the embeddings).
        attention_scores: indices into its `attention_scores` (0: the first block).
        intent_logits: whether it reads `intent_logits`.
        slot_logits: whether it reads `slot_logits`.
        logits: whether it reads `logits` (a GLUE `SequenceModel`'s head).

    Example:
    >>> needs = TeacherOutputs(hidden_states=(0, 3, 6), attention_scores=(2, 5))
    >>> needs.keys
    ('hidden_states_0', 'hidden_states_3', 'hidden_states_6', 'attention_scores_2', ...)
    """

    hidden_states: tuple = ()
    attention_scores: tuple = ()
    intent_logits: bool = False
    slot_logits: bool = False
    logits: bool = False

    def __post_init__(self):
        object.__setattr__(self, "hidden_states", _indices(self.hidden_states))
        object.__setattr__(self, "attention_scores", _indices(self.attention_scores))
        object.__setattr__(self, "intent_logits", bool(self.intent_logits))
        object.__setattr__(self, "slot_logits", bool(self.slot_logits))
        object.__setattr__(self, "logits", bool(self.logits))

    def __or__(self, other):
        return TeacherOutputs(self.hidden_states + other.hidden_states,
                              self.attention_scores + other.attention_scores,
                              self.intent_logits or other.intent_logits,
                              self.slot_logits or other.slot_logits,
                              self.logits or other.logits)

    @property
    def keys(self):
        """The flat names of the needed outputs, e.g. `hidden_states_3`, `intent_logits`."""
        return (tuple(f"{HIDDEN}_{i}" for i in self.hidden_states)
                + tuple(f"{ATTENTION}_{i}" for i in self.attention_scores)
                + tuple(name for name, used in zip(LOGITS, (self.intent_logits,
                                                            self.slot_logits, self.logits))
                        if used))

    def select(self, teacher_out):
        """The needed outputs of a teacher output dict, as {flat name: tensor}."""
        flat = {f"{HIDDEN}_{i}": teacher_out[HIDDEN][i] for i in self.hidden_states}
        flat.update({f"{ATTENTION}_{i}": teacher_out[ATTENTION][i]
                     for i in self.attention_scores})
        flat.update({name: teacher_out[name] for name in self.keys if name in LOGITS})
        return flat

    def shapes(self, teacher):
        """{flat name: per-example shape} for a teacher model (its `output_sizes` give the
        logits'), `LENGTH` standing for the example's token count."""
        encoder = teacher.encoder
        shapes = {f"{HIDDEN}_{i}": (LENGTH, encoder.hidden_size) for i in self.hidden_states}
        shapes.update({f"{ATTENTION}_{i}": (encoder.num_heads, LENGTH, LENGTH)
                       for i in self.attention_scores})
        sizes = teacher.output_sizes
        shapes.update({name: tuple(sizes[name]) for name in self.keys if name in LOGITS})
        return shapes

    def to_dict(self):
        # `logits` only when read, so the fingerprints of joint-model caches stay as they were.
        return {"hidden_states": list(self.hidden_states),
                "attention_scores": list(self.attention_scores),
                "intent_logits": self.intent_logits, "slot_logits": self.slot_logits,
                **({"logits": True} if self.logits else {})}


def restore(flat):
    """A teacher output dict rebuilt from `TeacherOutputs.select`'s flat dict.

    Layer lists keep their indices: the entries of layers not in `flat` are None (an
    objective that declared its outputs never reads them).
    """
    out = {name: flat[name] for name in LOGITS if name in flat}
    for kind in (HIDDEN, ATTENTION):
        layers = {int(key[len(kind) + 1:]): value for key, value in flat.items()
                  if key.startswith(kind + "_")}
        if layers:
            out[kind] = [layers.get(i) for i in range(max(layers) + 1)]
    return out
