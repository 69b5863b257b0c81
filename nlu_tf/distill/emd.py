"""BERT-EMD many-to-many layer mapping (Li et al., EMNLP 2020).

Every student layer learns from every teacher layer. Per step:

1. `emd_cost_matrix` builds C (M student layers x N teacher layers), where C[i, j] is
   the mean squared error between student layer i and teacher layer j (hidden states,
   or attention scores).
2. `emd_loss` solves the transportation problem between the student layer weights and
   the teacher layer weights under C exactly (`solve_transport`, pure TensorFlow ops,
   XLA-compatible) and returns sum(flow * C) with the flow held constant.
3. `update_layer_weights` derives new layer weights from the transport cost each layer
   carried ("cost attention"); the caller assigns them into non-trainable variables.

All functions are pure TensorFlow and run eagerly, in `tf.function` and with
`jit_compile=True`.
"""

from __future__ import annotations

from typing import Optional, Sequence

import tensorflow as tf

from nlu_tf.choices import EmdWeightUpdate, names
from nlu_tf.distill.transport import solve_transport

__all__ = ["emd_cost_matrix", "emd_loss", "solve_transport", "update_layer_weights"]

_UPDATE_MODES = names(EmdWeightUpdate)


def _position_weights(mask: tf.Tensor, like: tf.Tensor) -> tf.Tensor:
    """Expands a (B, L) token mask to a 0/1 tensor broadcastable against ``like``."""
    m = tf.cast(tf.cast(mask, tf.float32) > 0.0, like.dtype)
    rank = like.shape.rank
    if rank == 3:  # (B, L, H): real tokens.
        return m[:, :, None]
    if rank == 4:  # (B, heads, L, L): real query and real key.
        return m[:, None, :, None] * m[:, None, None, :]
    raise ValueError(f"a mask needs (B, L, H) or (B, heads, L, L) tensors, got rank {rank}")


def _student_row(student: tf.Tensor, teachers: tf.Tensor, weights, count) -> tf.Tensor:
    """Weighted MSE of one student tensor against each of N stacked teacher tensors.

    The gradient is written out so that backprop keeps only the inputs, not the N
    (student - teacher) differences autodiff would otherwise hold for each row.
    Teacher tensors are constants here (the teacher is frozen in distillation).
    """
    teachers = tf.stop_gradient(teachers)

    @tf.custom_gradient
    def row(s):
        diff = s[None] - teachers
        value = tf.reduce_sum(tf.reshape(weights * tf.square(diff), [tf.shape(teachers)[0], -1]), axis=1)

        def grad(upstream):
            g = tf.reshape(tf.cast(upstream, s.dtype), [-1] + [1] * s.shape.rank)
            return 2.0 * weights[0] * tf.reduce_sum(g * (s[None] - teachers), axis=0) / count

        return value / count, grad

    return row(student)


def emd_cost_matrix(
    student_reprs: Sequence[tf.Tensor],
    teacher_reprs: Sequence[tf.Tensor],
    mask: Optional[tf.Tensor] = None,
) -> tf.Tensor:
    """Pairwise mean squared errors between student and teacher layer tensors.

    ``C[i, j] = sum(w * (s_i - t_j) ** 2) / sum(w)`` where ``w`` is 1 everywhere
    without a mask. With a (B, L) mask of real tokens, ``w`` is 1 exactly at the
    counted elements: for hidden states (B, L, H) every feature of a real token; for
    attention scores (B, heads, L, L) every entry whose query and key are both real.
    The normalisation is the mean over counted elements (number of counted
    positions times the trailing sizes), so padded positions, including the large
    negative scores of masked keys, never contribute. Without a mask this is plain
    ``mean((s_i - t_j) ** 2)`` over all elements. (The reference implementation
    instead zeroes attention scores <= -100 and averages over every element.)

    Args:
        student_reprs: M tensors, all of one shape, e.g. hidden states (B, L, H)
            already projected to the teacher width, or attention scores.
        teacher_reprs: N tensors of that same shape; treated as constants.
        mask: Optional (B, L) mask, nonzero at real tokens.

    Returns:
        The (M, N) cost matrix, float32 (float64 for float64 inputs); differentiable
        with respect to the student tensors.
    """
    if not student_reprs or not teacher_reprs:
        raise ValueError("need at least one student and one teacher tensor")
    dtype = tf.float64 if student_reprs[0].dtype == tf.float64 else tf.float32
    students = [tf.cast(s, dtype) for s in student_reprs]
    teachers = tf.stack([tf.cast(t, dtype) for t in teacher_reprs])
    like = students[0]
    if mask is None:
        weights = tf.ones([1] * (like.shape.rank + 1), dtype)
        count = tf.cast(tf.size(like), dtype)
    else:
        weights = _position_weights(mask, like)
        count = tf.maximum(tf.reduce_sum(tf.broadcast_to(weights, tf.shape(like))), 1.0)
        weights = weights[None]
    return tf.stack([_student_row(s, teachers, weights, count) for s in students])


def emd_loss(cost: tf.Tensor, student_weights: tf.Tensor, teacher_weights: tf.Tensor):
    """Earth mover's distance between student and teacher layers.

    Args:
        cost: (M, N) cost matrix, e.g. from `emd_cost_matrix`.
        student_weights: (M,) student layer weights (normalised to sum 1).
        teacher_weights: (N,) teacher layer weights (normalised to sum 1).

    Returns:
        ``(loss, flow)``: the scalar ``sum(flow * cost)`` in ``cost.dtype``, whose
        gradient reaches ``cost`` only (the flow is a constant), and the optimal
        (M, N) flow in ``cost.dtype``.
    """
    flow = solve_transport(student_weights, teacher_weights, tf.stop_gradient(cost))
    flow = tf.stop_gradient(tf.cast(flow, cost.dtype))
    return tf.reduce_sum(flow * cost), flow


def _cost_attention(carried, weights, fallback, mode, temperature):
    """New weights for one side from the transport cost each layer carried."""
    has_mass = weights > 0.0
    # Cost per unit of mass; a layer that ships nothing gets its cheapest pairing.
    unit = tf.where(has_mass, carried / tf.where(has_mass, weights, 1.0), fallback)
    unit = tf.nn.relu(unit)
    floor = tf.maximum(1e-12 * tf.reduce_max(unit), 1e-30)
    inverse = tf.reduce_sum(unit) / tf.maximum(unit, floor)
    if mode == "softmax":
        return tf.nn.softmax(inverse / temperature)
    total = tf.reduce_sum(inverse)
    uniform = tf.ones_like(inverse) / tf.cast(tf.size(inverse), inverse.dtype)
    return tf.where(total > 0.0, inverse / tf.where(total > 0.0, total, 1.0), uniform)


def _smoothed(weights, floor):
    """``(1 - floor) * weights + floor / n``: every entry at least ``floor / n``, sum unchanged."""
    n = tf.cast(tf.size(weights), weights.dtype)
    return (1.0 - floor) * weights + floor / n


def update_layer_weights(
    flow: tf.Tensor,
    cost: tf.Tensor,
    student_weights: tf.Tensor,
    teacher_weights: tf.Tensor,
    mode: str = "softmax",
    temperature: float = 1.0,
    floor: float = 0.0,
):
    """BERT-EMD cost-attention update of the layer weights.

    For student layer i the transported cost per unit of weight is
    ``c_i = sum_j flow[i, j] * cost[i, j] / w_s[i]``; its scaled inverse is
    ``r_i = sum_k c_k / c_i``. Teacher layers use the column sums the same way. Then
    ``"softmax"`` (the published rule, ``--T_emd`` being the temperature) returns
    ``softmax(r / temperature)`` and ``"sum"`` (the reference code's later variant;
    no temperature) returns ``r / sum(r)``. Layers with lower transport cost get more
    weight. Guards, where the reference code would divide by zero: a layer of
    weight 0 uses its smallest cost as ``c_i``, and ``c_i`` is floored at 1e-12 of
    the largest, so a zero-cost layer gets the largest share; all-zero costs give
    uniform weights.

    With ``floor`` = s > 0 each new vector is mixed with the uniform one,
    ``(1 - s) * w + s / n``, so every layer keeps at least the share ``s / n`` and the
    weights cannot collapse onto one layer (a layer of weight 0 would never be asked to
    learn again). The default 0 is the published rule, unchanged.

    Args:
        flow: (M, N) optimal flow from `emd_loss`.
        cost: (M, N) cost matrix the flow was solved for (no gradient is taken).
        student_weights: (M,) current student layer weights.
        teacher_weights: (N,) current teacher layer weights.
        mode: ``"softmax"`` or ``"sum"``.
        temperature: Softmax temperature, > 0 (``"softmax"`` only).
        floor: Share in [0, 1) of the weight spread uniformly over the layers.

    Returns:
        ``(new_student_weights, new_teacher_weights)``, non-negative, each summing
        to 1, in the dtypes of the given weights.
    """
    if mode not in _UPDATE_MODES:
        raise ValueError(f"mode must be one of {_UPDATE_MODES}, got {mode!r}")
    if isinstance(temperature, (int, float)) and temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    if not 0.0 <= floor < 1.0:
        raise ValueError(f"floor must be in [0, 1), got {floor}")
    student_weights = tf.convert_to_tensor(student_weights)
    teacher_weights = tf.convert_to_tensor(teacher_weights)
    temperature = tf.cast(temperature, tf.float64)
    f = tf.cast(tf.stop_gradient(flow), tf.float64)
    c = tf.cast(tf.stop_gradient(cost), tf.float64)
    w_s = tf.reshape(tf.cast(student_weights, tf.float64), [-1])
    w_t = tf.reshape(tf.cast(teacher_weights, tf.float64), [-1])
    carried = f * c
    new_s = _cost_attention(tf.reduce_sum(carried, 1), w_s, tf.reduce_min(c, 1), mode, temperature)
    new_t = _cost_attention(tf.reduce_sum(carried, 0), w_t, tf.reduce_min(c, 0), mode, temperature)
    if floor:
        new_s, new_t = (_smoothed(w, floor) for w in (new_s, new_t))
    return tf.cast(new_s, student_weights.dtype), tf.cast(new_t, teacher_weights.dtype)
