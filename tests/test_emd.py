"""Tests for the exact transport solver and the BERT-EMD loss pieces."""

import numpy as np
import pytest
import tensorflow as tf
from scipy.optimize import linprog

from nlu_tf.distill.emd import emd_cost_matrix, emd_loss, update_layer_weights
from nlu_tf.distill.transport import _solve, solve_transport

_SPEC = [tf.TensorSpec([None], tf.float64)] * 2 + [tf.TensorSpec([None, None], tf.float64)]
_solve_graph = tf.function(solve_transport, input_signature=_SPEC)
_solve_xla = tf.function(solve_transport, jit_compile=True)


def _lp_cost(a, b, cost):
    """Optimal cost of the transportation problem, from HiGHS.

    Costs are rescaled to a maximum of 1 and the tolerances tightened: with the
    default absolute tolerances HiGHS stops up to ~5e-5 (relative) short of the
    optimum on problems with costs around 1e-4.
    """
    m, n = cost.shape
    scale = max(float(np.abs(cost).max()), 1e-300)
    rows = np.kron(np.eye(m), np.ones((1, n)))
    cols = np.kron(np.ones((1, m)), np.eye(n))
    res = linprog(
        cost.ravel() / scale,
        A_eq=np.vstack([rows, cols]),
        b_eq=np.concatenate([a, b]),
        bounds=(0, None),
        method="highs",
        options={"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10},
    )
    assert res.status == 0, res.message
    return res.fun * scale


def _random_problem(rng, m, n):
    a = rng.random(m) ** rng.choice([1.0, 3.0])
    b = rng.random(n) ** rng.choice([1.0, 3.0])
    cost = rng.random((m, n)) * rng.choice([1e-4, 1.0, 1e3])
    return a / a.sum(), b / b.sum(), cost


def _check(flow, a, b, cost):
    """Asserts feasibility and optimality; returns the relative gap to linprog."""
    flow = np.asarray(flow, np.float64)
    assert flow.shape == cost.shape
    assert flow.min() >= -1e-12
    np.testing.assert_allclose(flow.sum(axis=1), a, atol=1e-5)
    np.testing.assert_allclose(flow.sum(axis=0), b, atol=1e-5)
    best = _lp_cost(a, b, cost)
    gap = abs(float((flow * cost).sum()) - best) / max(abs(best), 1e-12)
    assert gap <= 1e-4, (gap, cost.shape)
    return gap


def test_matches_linprog_in_tf_function():
    rng = np.random.default_rng(1234)
    gaps = []
    for _ in range(90):
        m, n = int(rng.integers(2, 13)), int(rng.integers(2, 25))
        a, b, cost = _random_problem(rng, m, n)
        gaps.append(_check(_solve_graph(a, b, cost), a, b, cost))
    assert max(gaps) < 1e-9


@pytest.mark.parametrize("shape", [(4, 12), (6, 12), (12, 24), (12, 2)])
def test_matches_linprog_under_xla(shape):
    rng = np.random.default_rng(sum(shape))
    for _ in range(6):
        a, b, cost = _random_problem(rng, *shape)
        # float32 inputs, as a training step would pass them.
        a32, b32, cost32 = (x.astype(np.float32) for x in (a, b, cost))
        flow = _solve_xla(a32, b32, cost32).numpy()
        a, b = a32 / a32.astype(np.float64).sum(), b32 / b32.astype(np.float64).sum()
        _check(flow, a, b, cost32.astype(np.float64))


def test_augmentations_stay_well_inside_the_bound():
    solve = tf.function(_solve, input_signature=_SPEC)
    rng = np.random.default_rng(99)
    for _ in range(30):
        m, n = int(rng.integers(2, 13)), int(rng.integers(2, 25))
        _, iterations, paths_ok = solve(*_random_problem(rng, m, n))
        assert paths_ok and int(iterations) <= 3 * (m + n)


def test_shape_errors():
    with pytest.raises(ValueError):
        solve_transport([0.5, 0.5], [1.0], np.ones((3, 1)))
    with pytest.raises(ValueError):
        solve_transport([1.0], [1.0], np.ones(1))


def test_matches_linprog_eagerly():
    rng = np.random.default_rng(7)
    for m, n in [(3, 5), (5, 3)]:
        a, b, cost = _random_problem(rng, m, n)
        flow = solve_transport(a, b, cost)
        assert flow.dtype == tf.float64
        _check(flow.numpy(), a, b, cost)


@pytest.mark.parametrize(
    "a, b",
    [
        ([0.0, 0.6, 0.4], [0.25, 0.25, 0.5, 0.0]),  # zero weights on both sides
        ([1.0], [0.1, 0.2, 0.3, 0.4]),  # a single row
        ([0.3, 0.7], [1.0]),  # a single column
        ([0.5, 0.5 - 1e-13, 1e-13], [0.3, 0.3, 0.4]),  # a mass below the tolerance
    ],
)
def test_edge_weights(a, b):
    a, b = np.array(a), np.array(b)
    cost = np.random.default_rng(3).random((len(a), len(b)))
    flow = _solve_graph(a, b, cost).numpy()
    _check(flow, a, b, cost)
    assert np.all(flow[a == 0] == 0) and np.all(flow[:, b == 0] == 0)


def test_degenerate_costs():
    rng = np.random.default_rng(11)
    for cost in [np.ones((4, 12)), np.round(rng.random((6, 12)) * 2), np.zeros((3, 3))]:
        a, b, _ = _random_problem(rng, *cost.shape)
        _check(_solve_graph(a, b, cost).numpy(), a, b, cost)
    # Equal supplies and demands with tied costs: every vertex is degenerate.
    cost = np.round(rng.random((8, 8)) * 3)
    _check(_solve_graph(np.full(8, 0.125), np.full(8, 0.125), cost).numpy(), np.full(8, 0.125), np.full(8, 0.125), cost)


def test_shift_scale_and_normalisation():
    rng = np.random.default_rng(5)
    a, b, cost = _random_problem(rng, 5, 9)
    flow = _solve_graph(a, b, cost).numpy()
    # Negative, shifted and scaled costs leave the optimum unchanged; so do unnormalised weights.
    other = _solve_graph(3.0 * a, 0.5 * b, -7.0 + 1e4 * cost).numpy()
    np.testing.assert_allclose((other * cost).sum(), (flow * cost).sum(), rtol=1e-9)
    _check(other, a, b, cost)


def test_emd_loss_gradient_reaches_cost_not_flow():
    rng = np.random.default_rng(2)
    cost = tf.Variable(rng.random((4, 12)).astype(np.float32))
    w_s = tf.Variable(np.full(4, 0.25, np.float32), trainable=False)
    w_t = tf.Variable(np.full(12, 1 / 12, np.float32), trainable=False)
    with tf.GradientTape() as tape:
        loss, flow = emd_loss(cost, w_s, w_t)
    grad_cost, grad_w = tape.gradient(loss, [cost, w_s])
    assert grad_w is None
    np.testing.assert_allclose(grad_cost.numpy(), flow.numpy(), atol=1e-7)
    np.testing.assert_allclose(loss.numpy(), (flow.numpy() * cost.numpy()).sum(), rtol=1e-6)
    assert loss.dtype == flow.dtype == tf.float32


def _reference_rule(flow, cost, w, axis, mode, temperature):
    """The cost-attention rule written out in numpy, for positive weights and costs."""
    unit = (flow * cost).sum(axis=axis) / w
    inverse = unit.sum() / unit
    if mode == "sum":
        return inverse / inverse.sum()
    e = np.exp((inverse - inverse.max()) / temperature)
    return e / e.sum()


@pytest.mark.parametrize("mode, temperature", [("softmax", 1.0), ("softmax", 5.0), ("sum", 1.0)])
def test_update_layer_weights(mode, temperature):
    rng = np.random.default_rng(8)
    for m, n in [(4, 12), (6, 12), (3, 3)]:
        a, b, cost = _random_problem(rng, m, n)
        flow = _solve_graph(a, b, cost).numpy()
        new_s, new_t = update_layer_weights(flow, cost, a, b, mode=mode, temperature=temperature)
        for new, w, axis in [(new_s.numpy(), a, 1), (new_t.numpy(), b, 0)]:
            assert np.all(new >= 0) and np.isclose(new.sum(), 1.0)
            np.testing.assert_allclose(new, _reference_rule(flow, cost, w, axis, mode, temperature), rtol=1e-9)
            unit = (flow * cost).sum(axis=axis) / w
            # Lower cost per unit of weight, more weight.
            assert np.all(np.diff(new[np.argsort(unit)]) <= 1e-15)


def test_update_layer_weights_guards():
    cost = np.array([[0.0, 1.0], [2.0, 3.0], [1.0, 1.0]])
    w_s, w_t = np.array([0.5, 0.5, 0.0]), np.array([0.5, 0.5])
    flow = _solve_graph(w_s, w_t, cost).numpy()
    for mode in ("softmax", "sum"):
        new_s, new_t = update_layer_weights(flow, cost, w_s, w_t, mode=mode)
        for new in (new_s.numpy(), new_t.numpy()):
            assert np.all(np.isfinite(new)) and np.all(new >= 0) and np.isclose(new.sum(), 1.0)
        new_s, _ = update_layer_weights(np.full((2, 2), 0.25), np.zeros((2, 2)), [0.5, 0.5], [0.5, 0.5], mode=mode)
        np.testing.assert_allclose(new_s.numpy(), [0.5, 0.5])
    with pytest.raises(ValueError):
        update_layer_weights(flow, cost, w_s, w_t, mode="max")


def _numpy_mse(s, t, weights):
    return float((weights * (s - t) ** 2).sum() / np.broadcast_to(weights, s.shape).sum())


def test_cost_matrix_hidden_states():
    rng = np.random.default_rng(4)
    mask = np.array([[1, 1, 1, 0], [1, 1, 1, 1]])
    students = [rng.normal(size=(2, 4, 3)).astype(np.float32) for _ in range(2)]
    teachers = [rng.normal(size=(2, 4, 3)).astype(np.float32) for _ in range(3)]
    cost = emd_cost_matrix([tf.constant(s) for s in students], [tf.constant(t) for t in teachers]).numpy()
    expected = [[np.mean((s - t) ** 2) for t in teachers] for s in students]
    np.testing.assert_allclose(cost, expected, rtol=1e-5)
    cost = emd_cost_matrix(students, teachers, mask=mask).numpy()
    expected = [[_numpy_mse(s, t, mask[:, :, None]) for t in teachers] for s in students]
    np.testing.assert_allclose(cost, expected, rtol=1e-5)
    # Padding never counts.
    padded = [s.copy() for s in students]
    padded[0][0, 3] = 1e3
    np.testing.assert_allclose(emd_cost_matrix(padded, teachers, mask=mask).numpy(), cost, rtol=1e-6)


def test_cost_matrix_attention_and_gradient():
    rng = np.random.default_rng(6)
    mask = np.array([[1, 1, 0], [1, 1, 1]])
    students = [tf.Variable(rng.normal(size=(2, 2, 3, 3)).astype(np.float32)) for _ in range(2)]
    teachers = [rng.normal(size=(2, 2, 3, 3)).astype(np.float32) for _ in range(4)]
    pair = mask[:, None, :, None] * mask[:, None, None, :]
    probe = rng.random((2, 4)).astype(np.float32)
    with tf.GradientTape(persistent=True) as tape:
        cost = emd_cost_matrix(students, teachers, mask=tf.constant(mask))
        direct = tf.stack(
            [tf.stack([tf.reduce_sum(pair * tf.square(s - t)) / pair.sum() / 2 for t in teachers]) for s in students]
        )
        loss, direct_loss = tf.reduce_sum(probe * cost), tf.reduce_sum(probe * direct)
    np.testing.assert_allclose(cost.numpy(), direct.numpy(), rtol=1e-5)
    expected = [[_numpy_mse(s.numpy(), t, pair) for t in teachers] for s in students]
    np.testing.assert_allclose(cost.numpy(), expected, rtol=1e-5)
    for g, g_direct in zip(tape.gradient(loss, students), tape.gradient(direct_loss, students)):
        np.testing.assert_allclose(g.numpy(), g_direct.numpy(), rtol=1e-5, atol=1e-7)


def test_full_step_compiles():
    rng = np.random.default_rng(9)
    students = [tf.Variable(rng.normal(size=(2, 5, 8)).astype(np.float32)) for _ in range(4)]
    teachers = [tf.constant(rng.normal(size=(2, 5, 8)).astype(np.float32)) for _ in range(12)]
    w_s = tf.Variable(np.full(4, 0.25, np.float32), trainable=False)
    w_t = tf.Variable(np.full(12, 1 / 12, np.float32), trainable=False)
    mask = tf.constant([[1, 1, 1, 1, 0], [1, 1, 1, 1, 1]])

    @tf.function(jit_compile=True)
    def step():
        with tf.GradientTape() as tape:
            cost = emd_cost_matrix(students, teachers, mask)
            loss, flow = emd_loss(cost, w_s, w_t)
        grads = tape.gradient(loss, students)
        new_s, new_t = update_layer_weights(flow, cost, w_s, w_t, temperature=2.0)
        w_s.assign(new_s)
        w_t.assign(new_t)
        return loss, grads

    loss, grads = step()
    assert np.isfinite(loss.numpy()) and all(g is not None for g in grads)
    assert np.isclose(w_s.numpy().sum(), 1.0) and np.isclose(w_t.numpy().sum(), 1.0)


@pytest.mark.parametrize("mode", ["softmax", "sum"])
@pytest.mark.parametrize("floor", [0.05, 0.2, 0.5])
def test_weight_floor_keeps_every_layer_above_its_share(mode, floor):
    rng = np.random.default_rng(11)
    # One pairing almost free: without a floor the update puts nearly all weight on it.
    for m, n in [(4, 12), (2, 6), (3, 3)]:
        a, b, cost = _random_problem(rng, m, n)
        cost[0] *= 1e-9
        flow = _solve_graph(a, b, cost).numpy()
        bare_s, _ = update_layer_weights(flow, cost, a, b, mode=mode, temperature=0.1)
        new_s, new_t = update_layer_weights(flow, cost, a, b, mode=mode, temperature=0.1,
                                            floor=floor)
        assert bare_s.numpy().min() < 0.05 / m  # the collapse the floor guards against
        for new, bare, size in [(new_s.numpy(), bare_s.numpy(), m), (new_t.numpy(), None, n)]:
            assert new.min() >= floor / size - 1e-12 and np.isclose(new.sum(), 1.0)
            if bare is not None:
                np.testing.assert_allclose(new, (1 - floor) * bare + floor / size, rtol=1e-12)
    with pytest.raises(ValueError, match="floor"):
        update_layer_weights(flow, cost, a, b, floor=1.0)


def test_emd_objective_keeps_the_floor_through_training_steps():
    from nlu_tf.distill.emd_objective import WEIGHT_NAMES, EmdObjective

    objective = EmdObjective(2, 4, 8, 8, temperature=0.05, weight_floor=0.3)
    objective.build()
    rng = np.random.default_rng(3)
    for _ in range(5):
        cost_s = rng.random((2, 4)) * [[1e-6] + [1.0] * 3, [1.0] * 4]
        state = {}
        for kind in ("att", "hid"):
            flow = _solve_graph(objective.weight(f"student_{kind}").numpy().astype(np.float64),
                                objective.weight(f"teacher_{kind}").numpy().astype(np.float64),
                                cost_s).numpy()
            state[f"{kind}_flow"], state[f"{kind}_cost"] = flow, cost_s
        objective.after_step(state)
        weights = objective.weights_dict()
        for name in WEIGHT_NAMES:
            values = np.array(weights[name])
            assert values.min() >= 0.3 / len(values) - 1e-6 and np.isclose(values.sum(), 1.0)


def test_weight_floor_is_a_recipe_key_and_a_flag():
    from nlu_tf.pipeline.recipe import load_recipe, stage_settings
    from tests.tiny import REPO

    recipe = load_recipe(f"{REPO}/configs/tiny.yaml",
                         ["stage_2_1.emd_weight_floor=0.25", "stage_2_1.T_emd=2.0"])
    distill = stage_settings(recipe, "bert")["student_2.1"].distill
    assert (distill.emd_weight_floor, distill.T_emd) == (0.25, 2.0)
    from nlu_tf.errors import InputError
    with pytest.raises(InputError, match="emd_weight_floor"):
        stage_settings(load_recipe(f"{REPO}/configs/tiny.yaml",
                                   ["stage_2_1.emd_weight_floor=1.5"]), "bert")
