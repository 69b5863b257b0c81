"""Exact discrete optimal transport (the transportation problem) in TensorFlow ops.

Given supplies ``a`` (M,), demands ``b`` (N,) and costs ``C`` (M, N), find the flow
``f`` minimising ``sum(f * C)`` subject to ``f >= 0``, ``sum_j f[i, j] = a[i]`` and
``sum_i f[i, j] = b[j]``. The solver is successive shortest paths on the bipartite
residual graph:

* forward arcs ``i -> j`` (row to column) always exist, with cost ``C[i, j]``;
* backward arcs ``j -> i`` exist while ``f[i, j] > 0``, with cost ``-C[i, j]``.

Each augmentation runs a multi-source Bellman-Ford (every row with supply left is a
source at distance 0), vectorised as two dense (M, N) min-reductions per round, picks
the column with demand left that is nearest, traces the path back, and pushes the
bottleneck amount (remaining supply of the path's source row, remaining demand of its
end column, or the smallest flow on a backward arc) along it. Pushing along shortest
paths keeps the residual graph free of negative cycles, so the final flow is an
optimum of the linear program, up to float64 rounding. Every loop is a
``tf.while_loop`` with a static bound and fixed-shape state, so the solver runs
eagerly, in ``tf.function`` and under XLA (``jit_compile=True``); XLA needs M and N
static, a plain ``tf.function`` also accepts unknown sizes.
"""

from __future__ import annotations

from typing import Optional

import tensorflow as tf

# Masses below this (after normalising both marginals to sum 1) count as zero.
_MASS_TOL = 1e-12
# Distances must improve by more than this (costs are rescaled to [0, 1]) to count.
_DIST_TOL = 1e-12


def _dim(x: tf.Tensor, axis: int):
    """Returns a static dimension when known, else the dynamic one."""
    static = x.shape[axis]
    return static if static is not None else tf.shape(x)[axis]


def _normalise(w: tf.Tensor) -> tf.Tensor:
    """Clips a weight vector at 0 and rescales it to sum 1 (uniform if it sums to 0)."""
    w = tf.nn.relu(tf.where(tf.math.is_finite(w), w, tf.zeros_like(w)))
    total = tf.reduce_sum(w)
    uniform = tf.ones_like(w) / tf.cast(tf.size(w), w.dtype)
    return tf.where(total > 0.0, w / tf.where(total > 0.0, total, 1.0), uniform)


def _rescale_costs(cost: tf.Tensor) -> tf.Tensor:
    """Maps finite costs affinely onto [0, 1]; non-finite ones become 2 (worst)."""
    finite = tf.math.is_finite(cost)
    lo = tf.reduce_min(tf.where(finite, cost, tf.constant(float("inf"), cost.dtype)))
    hi = tf.reduce_max(tf.where(finite, cost, tf.constant(float("-inf"), cost.dtype)))
    span = hi - lo
    scaled = tf.where(span > 0.0, (cost - lo) / tf.where(span > 0.0, span, 1.0), tf.zeros_like(cost))
    return tf.where(finite, scaled, 2.0 * tf.ones_like(cost))


def _shortest_paths(cost, flow, rem_s, max_rounds):
    """Multi-source Bellman-Ford on the residual graph.

    Returns (dist_t, pred_t, pred_s): distance to each column, the row each column is
    reached from, and the column each row is reached from (-1: the row is a source).
    """
    inf = tf.constant(float("inf"), tf.float64)
    dist_s = tf.where(rem_s > _MASS_TOL, tf.zeros_like(rem_s), inf)
    pred_s = -tf.ones(tf.shape(rem_s), tf.int32)
    dist_t = inf * tf.ones(tf.shape(cost)[1:], tf.float64)
    pred_t = tf.zeros(tf.shape(cost)[1:], tf.int32)
    has_back = flow > _MASS_TOL

    def keep_better(cand, arg, dist, pred):
        # Predecessors change only on a strict improvement, so ties cannot close a
        # cycle in the predecessor graph.
        better = cand < dist - _DIST_TOL
        return tf.where(better, cand, dist), tf.where(better, arg, pred), tf.reduce_any(better)

    def body(k, _, dist_s, pred_s, dist_t, pred_t):
        reach = dist_s[:, None] + cost
        dist_t, pred_t, changed_t = keep_better(
            tf.reduce_min(reach, axis=0), tf.argmin(reach, axis=0, output_type=tf.int32), dist_t, pred_t
        )
        back = tf.where(has_back, dist_t[None, :] - cost, inf)
        dist_s, pred_s, changed_s = keep_better(
            tf.reduce_min(back, axis=1), tf.argmin(back, axis=1, output_type=tf.int32), dist_s, pred_s
        )
        return k + 1, tf.logical_or(changed_t, changed_s), dist_s, pred_s, dist_t, pred_t

    _, _, _, pred_s, dist_t, pred_t = tf.while_loop(
        lambda k, changed, *_: tf.logical_and(changed, k < max_rounds),
        body,
        (tf.constant(0), tf.constant(True), dist_s, pred_s, dist_t, pred_t),
    )
    return dist_t, pred_t, pred_s


def _augment(cost, flow, rem_s, rem_t, m, n, max_rounds):
    """Pushes flow along one shortest source-to-sink path; returns the new state."""
    dist_t, pred_t, pred_s = _shortest_paths(cost, flow, rem_s, max_rounds)
    inf = tf.constant(float("inf"), tf.float64)
    sink = tf.argmin(tf.where(rem_t > _MASS_TOL, dist_t, inf), output_type=tf.int32)

    # Walk back from the sink: +1 on forward arcs, -1 on backward arcs of the path.
    def trace(step, col, path, _origin, _done):
        row = tf.gather(pred_t, col)
        path += tf.one_hot(row, m, dtype=tf.float64)[:, None] * tf.one_hot(col, n, dtype=tf.float64)[None, :]
        prev = tf.gather(pred_s, row)
        done = prev < 0
        safe_prev = tf.maximum(prev, 0)
        path -= tf.cast(tf.logical_not(done), tf.float64) * (
            tf.one_hot(row, m, dtype=tf.float64)[:, None] * tf.one_hot(safe_prev, n, dtype=tf.float64)[None, :]
        )
        return step + 1, safe_prev, path, row, done

    _, _, path, origin, found = tf.while_loop(
        lambda step, col, path, origin, done: tf.logical_and(tf.logical_not(done), step < max_rounds + 1),
        trace,
        (tf.constant(0), sink, tf.zeros_like(flow), tf.constant(0), tf.constant(False)),
    )
    bottleneck = tf.minimum(tf.gather(rem_s, origin), tf.gather(rem_t, sink))
    bottleneck = tf.minimum(bottleneck, tf.reduce_min(tf.where(path < 0.0, flow, inf)))
    # A path that never reached a source can only come from rounding; ship nothing.
    bottleneck = tf.where(found, bottleneck, 0.0)
    flow = tf.maximum(flow + bottleneck * path, 0.0)
    rem_s -= bottleneck * tf.one_hot(origin, m, dtype=tf.float64)
    rem_t -= bottleneck * tf.one_hot(sink, n, dtype=tf.float64)
    return flow, rem_s, rem_t, found


def solve_transport(
    supply: tf.Tensor,
    demand: tf.Tensor,
    cost: tf.Tensor,
    max_augmentations: Optional[int] = None,
) -> tf.Tensor:
    """Solves the balanced transportation problem exactly.

    Both marginals are clipped at 0 and normalised to sum 1 first (a vector summing
    to 0 becomes uniform), so the returned flow has those normalised marginals.
    Masses below 1e-12 count as zero; what is left unshipped at the end (at most
    that much per row or column) is spread proportionally so the marginals still
    match to rounding. Costs may have any sign; the optimal flow does not change
    when they are shifted or scaled, and they are rescaled to [0, 1] internally.

    Args:
        supply: (M,) row masses, e.g. the student layer weights.
        demand: (N,) column masses, e.g. the teacher layer weights.
        cost: (M, N) finite transport costs; non-finite entries are treated as the
            most expensive.
        max_augmentations: Safety bound on augmenting paths; defaults to
            M * N + M + N (random problems take at most about 2 * (M + N)).

    Returns:
        The (M, N) optimal flow, float64.
    """
    return _solve(supply, demand, cost, max_augmentations)[0]


def _solve(supply, demand, cost, max_augmentations=None):
    """Like `solve_transport`, also returning (augmentations used, all paths valid)."""
    supply = _normalise(tf.reshape(tf.cast(supply, tf.float64), [-1]))
    demand = _normalise(tf.reshape(tf.cast(demand, tf.float64), [-1]))
    cost = tf.cast(cost, tf.float64)
    if cost.shape.rank != 2:
        raise ValueError(f"cost must be a matrix, got shape {cost.shape}")
    for name, vec, size in (("supply", supply, cost.shape[0]), ("demand", demand, cost.shape[1])):
        if vec.shape[0] is not None and size is not None and vec.shape[0] != size:
            raise ValueError(f"{name} has {vec.shape[0]} entries, cost has {size}")
    cost = _rescale_costs(cost)
    m, n = _dim(cost, 0), _dim(cost, 1)
    max_rounds = tf.minimum(m, n) + 2
    if max_augmentations is None:
        max_augmentations = m * n + m + n

    def pending(it, flow, rem_s, rem_t, ok):
        left = tf.logical_and(tf.reduce_any(rem_s > _MASS_TOL), tf.reduce_any(rem_t > _MASS_TOL))
        return tf.logical_and(tf.logical_and(left, ok), it < max_augmentations)

    def step(it, flow, rem_s, rem_t, _ok):
        flow, rem_s, rem_t, ok = _augment(cost, flow, rem_s, rem_t, m, n, max_rounds)
        return it + 1, flow, rem_s, rem_t, ok

    zeros = tf.zeros(tf.stack([m, n]), tf.float64)
    iters, flow, rem_s, rem_t, ok = tf.while_loop(
        pending, step, (tf.constant(0), zeros, supply, demand, tf.constant(True))
    )
    # Ship residues (rounding, or masses below the tolerance) proportionally.
    rem_s, rem_t = tf.nn.relu(rem_s), tf.nn.relu(rem_t)
    total_t = tf.reduce_sum(rem_t)
    spread = rem_s[:, None] * rem_t[None, :] / tf.where(total_t > 0.0, total_t, 1.0)
    return flow + spread, iters, ok
