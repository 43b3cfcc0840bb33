"""Tests for sprl.ctmc (book section 1.1.5)."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import integrate, stats

from sprl import _gth, ctmc

mpmath.mp.dps = 50


def _generator(rates):
    A = np.array(rates, dtype=float)
    np.fill_diagonal(A, 0.0)
    return A - np.diag(A.sum(axis=1))


def _random_generator(rng, n, density=0.6, scale=1.0):
    A = rng.exponential(scale, size=(n, n)) * (rng.random((n, n)) < density)
    # a cycle through every state keeps the chain irreducible
    A[np.arange(n), (np.arange(n) + 1) % n] += rng.uniform(0.1, 1.0, n)
    return _generator(A)


def _mp_stationary(Q):
    """pi Q = 0, sum pi = 1 at 50 digits (exact input)."""
    n = len(Q)
    M = mpmath.matrix(n + 1, n)
    for i in range(n):
        for j in range(n):
            M[j, i] = mpmath.mpf(float(Q[i][j]))
    for j in range(n):
        M[n, j] = 1
    rhs = mpmath.matrix([0] * n + [1])
    x = mpmath.qr_solve(M, rhs)[0]
    return np.array([float(v) for v in x])


# --------------------------------------------------------------------- the generator


def test_validate_generator_recomputes_diagonal():
    Q = ctmc.validate_generator([[-1.0, 1.0], [2.0, -2.0]])
    np.testing.assert_array_equal(Q, [[-1.0, 1.0], [2.0, -2.0]])
    # a row sum within 1e-12 of the rates is accepted and the diagonal recomputed
    Q = ctmc.validate_generator([[-1.0 - 1e-14, 1.0], [0.0, 0.0]])
    assert Q[0, 0] == -1.0


@pytest.mark.parametrize(
    "Q, match",
    [
        ([[-1.0, 1.0], [2.0, -1.0]], "rows summing to 0"),
        ([[-1.0, 1.0 + 1e-10], [0.0, 0.0]], "rows summing to 0"),
        ([[1.0, -1.0], [0.0, 0.0]], "non-negative off-diagonal"),
        ([[-1.0, 1.0], [np.nan, 0.0]], "finite"),
        ([[-np.inf, np.inf], [0.0, 0.0]], "finite"),
        ([[-1.0, 1.0, 0.0], [1.0, -1.0, 0.0]], "square"),
        ([], "square"),
        ([1.0, -1.0], "square"),
        ("abc", "Q"),
    ],
)
def test_bad_generator(Q, match):
    for call in (
        lambda: ctmc.validate_generator(Q),
        lambda: ctmc.transition_matrix(Q, 1.0),
        lambda: ctmc.mean_holding_times(Q),
        lambda: ctmc.jump_chain(Q),
        lambda: ctmc.stationary_distribution(Q),
        lambda: ctmc.simulate_ctmc(Q, 0, 1.0, rng=0),
    ):
        with pytest.raises(ValueError, match="Q") as info:
            call()
        assert match in str(info.value)


# ----------------------------------------------------------------- transition matrix


@pytest.mark.parametrize("a, b", [(1.0, 1.0), (0.3, 2.0), (5.0, 0.01)])
def test_two_state_closed_form(a, b):
    Q = [[-a, a], [b, -b]]
    t = np.array([0.0, 0.01, 0.5, 1.0, 3.0, 50.0])
    P = ctmc.transition_matrix(Q, t)
    assert P.shape == (t.size, 2, 2)
    e = np.exp(-(a + b) * t)
    expected = np.stack(
        [np.stack([b + a * e, a - a * e], -1), np.stack([b - b * e, a + b * e], -1)], -2
    ) / (a + b)
    np.testing.assert_allclose(P, expected, rtol=1e-13, atol=1e-15)
    np.testing.assert_array_equal(ctmc.transition_matrix(Q, 0.0), np.eye(2))


def test_transition_matrix_solves_both_kolmogorov_equations():
    rng = np.random.default_rng(5)
    Q = _random_generator(rng, 4)
    t_eval = [0.2, 1.0, 2.5]
    n = Q.shape[0]
    forward = integrate.solve_ivp(lambda t, y: (y.reshape(n, n) @ Q).ravel(), (0, 2.5),
                                  np.eye(n).ravel(), t_eval=t_eval, rtol=1e-11, atol=1e-13,
                                  method="DOP853")
    backward = integrate.solve_ivp(lambda t, y: (Q @ y.reshape(n, n)).ravel(), (0, 2.5),
                                   np.eye(n).ravel(), t_eval=t_eval, rtol=1e-11, atol=1e-13,
                                   method="DOP853")
    P = ctmc.transition_matrix(Q, t_eval)
    for k in range(len(t_eval)):
        np.testing.assert_allclose(P[k], forward.y[:, k].reshape(n, n), atol=1e-9)
        np.testing.assert_allclose(P[k], backward.y[:, k].reshape(n, n), atol=1e-9)
    # P'(t) = Q P(t) = P(t) Q, by a central difference
    h, t = 1e-4, 1.0
    dP = (ctmc.transition_matrix(Q, t + h) - ctmc.transition_matrix(Q, t - h)) / (2 * h)
    Pt = ctmc.transition_matrix(Q, t)
    np.testing.assert_allclose(dP, Q @ Pt, atol=1e-7)
    np.testing.assert_allclose(dP, Pt @ Q, atol=1e-7)


def _mp_expm(Q, t):
    """e^{Qt} at 50 digits for the chain the library computes: diagonal = -(off-diagonal sum)."""
    n = len(Q)
    M = mpmath.matrix(n, n)
    for i in range(n):
        for j in range(n):
            if i != j:
                M[i, j] = mpmath.mpf(float(Q[i][j]))
        M[i, i] = -mpmath.fsum(M[i, j] for j in range(n) if j != i)
    E = mpmath.expm(M * mpmath.mpf(t))
    return np.array([[float(E[i, j]) for j in range(n)] for i in range(n)])


@pytest.mark.parametrize(
    "rates",
    [
        [[0, 1, 2], [0.5, 0, 1], [4, 1, 0]],  # the chapter's generator
        [[0, 1e8, 0], [1e-6, 0, 1e-6], [0, 1, 0]],  # stiff: rates 1e8 and 1e-6
        # nearly decomposable: fast rates within {0, 1} and {2, 3}, slow between them
        [[0, 1e3, 0, 0], [2e3, 0, 1e-3, 0], [0, 0, 0, 5e2], [0, 3e-3, 1e3, 0]],
    ],
)
def test_transition_matrix_accurate_for_large_t(rates):
    """Plain expm(Q t) loses ||Q|| t eps: rows off by 1.3e-12 at t = 1e4 for the chapter's
    generator and by 2.4e-6 at t = 1e3 for the stiff one.  Squaring with stochastic rows
    keeps every entry to a few units of 1e-16 (50-digit mpmath reference)."""
    Q = _generator(rates)
    ts = [1e-3, 1.0, 1e2, 1e3, 1e4]
    P = ctmc.transition_matrix(Q, ts)
    for k, t in enumerate(ts):
        ref = _mp_expm(Q, t)
        assert np.abs(P[k] - ref).max() < 1e-15, t
        assert np.abs(P[k].sum(axis=1) - 1).max() <= 4.5e-16
        assert (P[k] >= 0).all()
    # also as a scalar time, and beyond float64's range of Lambda t
    np.testing.assert_array_equal(ctmc.transition_matrix(Q, 1e3), P[3])
    P_far = ctmc.transition_matrix(Q, 1e300)
    assert np.isfinite(P_far).all() and np.abs(P_far.sum(axis=1) - 1).max() <= 4.5e-16


@st.composite
def generators(draw):
    n = draw(st.integers(1, 6))
    rates = draw(hnp.arrays(float, (n, n), elements=st.floats(0, 10)))
    mask = draw(hnp.arrays(bool, (n, n)))
    return _generator(rates * mask)


@settings(max_examples=60, deadline=None)
@given(generators(), st.floats(0, 5), st.floats(0, 5))
def test_semigroup_and_stochastic_rows(Q, s, t):
    Ps, Pt, Pst = ctmc.transition_matrix(Q, [s, t, s + t])
    for P in (Ps, Pt, Pst):
        assert (P >= 0).all()
        np.testing.assert_allclose(P.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(Ps @ Pt, Pst, atol=1e-11)
    np.testing.assert_allclose(Ps @ Pt, Pt @ Ps, atol=1e-11)


@pytest.mark.parametrize("t", [-1.0, np.nan, np.inf, [0.5, -0.1], [[1.0]], "x"])
def test_bad_time(t):
    with pytest.raises(ValueError, match="t"):
        ctmc.transition_matrix([[-1.0, 1.0], [1.0, -1.0]], t)


# ------------------------------------------------------------- holding and jumping


def test_holding_times_and_jump_chain():
    Q = [[-3.0, 1.0, 2.0], [0.0, 0.0, 0.0], [1.0, 1.0, -2.0]]
    np.testing.assert_array_equal(ctmc.mean_holding_times(Q), [1 / 3, np.inf, 0.5])
    Pi = ctmc.jump_chain(Q)
    np.testing.assert_allclose(Pi, [[0, 1 / 3, 2 / 3], [0, 1, 0], [0.5, 0.5, 0]], rtol=1e-15)
    np.testing.assert_allclose(Pi.sum(axis=1), 1.0, rtol=1e-15)


# ------------------------------------------------------------- stationary distribution


@pytest.mark.parametrize("a, b", [(1.0, 2.0), (1e-8, 3.0), (7.0, 7.0)])
def test_stationary_two_state(a, b):
    pi = ctmc.stationary_distribution([[-a, a], [b, -b]])
    np.testing.assert_allclose(pi, [b / (a + b), a / (a + b)], rtol=1e-15)


@pytest.mark.parametrize("lam, mu, N", [(1.0, 2.0, 10), (3.0, 2.0, 30), (1.0, 1.0, 5),
                                        (0.05, 4.0, 120)])
def test_mm1_queue_stationary_law(lam, mu, N):
    Q = ctmc.birth_death_generator([lam] * N, [mu] * N)
    rho = lam / mu
    k = np.arange(N + 1)
    expected = rho**k / np.sum(rho**k)
    np.testing.assert_allclose(ctmc.stationary_distribution(Q), expected, rtol=1e-13)
    np.testing.assert_allclose(ctmc.birth_death_stationary([lam] * N, [mu] * N), expected,
                               rtol=1e-13)


@pytest.mark.parametrize("n", [7, 150, 400])
def test_stationary_entrywise_accuracy_over_many_magnitudes(n):
    # birth-death rates chosen so that pi spans more than 100 orders of magnitude
    rng = np.random.default_rng(n)
    birth, death = rng.uniform(0.1, 1.0, n - 1), rng.uniform(0.1, 3.0, n - 1)
    w = [mpmath.mpf(1)]
    for b, d in zip(birth, death):
        w.append(w[-1] * mpmath.mpf(b) / mpmath.mpf(d))
    total = mpmath.fsum(w)
    exact = np.array([float(x / total) for x in w])
    Q = ctmc.birth_death_generator(birth, death)
    for pi in (ctmc.stationary_distribution(Q), ctmc.birth_death_stationary(birth, death)):
        np.testing.assert_allclose(pi, exact, rtol=2e-14, atol=0)
    if n == 400:
        assert exact.min() < 1e-100


def test_stationary_random_generators_against_mpmath():
    rng = np.random.default_rng(11)
    assert ctmc.stationary_distribution([[0.0]]).tolist() == [1.0]
    for n in (2, 5, 8):
        Q = _random_generator(rng, n)
        np.testing.assert_allclose(ctmc.stationary_distribution(Q), _mp_stationary(Q),
                                   rtol=1e-13)


def test_blocked_gth_matches_plain_gth(monkeypatch):
    rng = np.random.default_rng(3)
    Q = _random_generator(rng, 300, density=0.1, scale=1.0)
    A = Q.copy()
    np.fill_diagonal(A, 0.0)
    monkeypatch.setattr(_gth, "BLOCK", 32)  # ten blocks, the last one partial
    blocked, plain = _gth.stationary(A), _gth.unblocked_stationary(A)
    np.testing.assert_allclose(blocked, plain, rtol=1e-13)
    pi = ctmc.stationary_distribution(Q)
    assert np.abs(pi @ Q).max() < 1e-15
    assert pi.sum() == pytest.approx(1.0, abs=1e-15)


def test_several_closed_classes():
    Q = _generator([[0, 1, 1, 0, 0], [2, 0, 0, 0, 0], [0, 0, 0, 1, 0], [0, 0, 3, 0, 0],
                    [0, 0, 0, 0, 0]])
    with pytest.raises(ValueError, match="closed classes"):
        ctmc.stationary_distribution(Q)
    pis = ctmc.stationary_distributions(Q)
    np.testing.assert_allclose(pis, [[0, 0, 0.75, 0.25, 0], [0, 0, 0, 0, 1]], rtol=1e-15)
    np.testing.assert_allclose(pis @ Q, 0, atol=1e-15)


def test_transient_states_get_zero():
    Q = _generator([[0, 1, 0], [0, 0, 2], [0, 3, 0]])  # 0 is transient
    np.testing.assert_allclose(ctmc.stationary_distribution(Q), [0, 0.6, 0.4], rtol=1e-15)


def test_transition_rows_converge_to_stationary_law():
    Q = ctmc.birth_death_generator([1.0] * 6, [1.5] * 6)
    P = ctmc.transition_matrix(Q, 200.0)
    np.testing.assert_allclose(P, np.tile(ctmc.stationary_distribution(Q), (7, 1)), atol=1e-12)


# ---------------------------------------------------------------------- simulation


def test_simulated_holding_times_and_destinations():
    Q = np.array([[-3.0, 1.0, 2.0], [0.5, -1.5, 1.0], [4.0, 1.0, -5.0]])
    t_max = 20_000.0
    times, states = ctmc.simulate_ctmc(Q, 0, t_max, rng=42)
    assert times[0] == 0 and states[0] == 0 and (np.diff(times) > 0).all()
    assert (np.diff(states) != 0).all()  # a jump always changes the state
    hold = np.diff(times)
    src, dst = states[:-1], states[1:]
    q = -np.diag(Q)
    Pi = ctmc.jump_chain(Q)
    for i in range(3):
        h = hold[src == i]
        # Exp(q_i): mean 1/q_i with standard error (1/q_i)/sqrt(n); 5 standard errors
        assert abs(h.mean() - 1 / q[i]) < 5 / q[i] / math.sqrt(h.size)
        for j in range(3):
            if j == i:
                continue
            to_j = dst[src == i] == j
            prob = Pi[i, j]
            assert abs(to_j.mean() - prob) < 5 * math.sqrt(prob * (1 - prob) / to_j.size)
            # the holding time does not depend on where the chain goes next:
            # Exp(q_i), not Exp(q_ij) (erratum)
            hj = h[to_j]
            assert abs(hj.mean() - 1 / q[i]) < 5 / q[i] / math.sqrt(hj.size)
            assert abs(hj.mean() - 1 / Q[i, j]) > 10 / q[i] / math.sqrt(hj.size)
    # the fraction of time in each state tends to the stationary law
    occupation = np.bincount(states, weights=np.diff(np.append(times, t_max)), minlength=3)
    np.testing.assert_allclose(occupation / t_max, ctmc.stationary_distribution(Q), atol=0.01)
    # exponential holding times: Kolmogorov-Smirnov test with a fixed seed
    assert stats.kstest(hold[src == 2], stats.expon(scale=1 / q[2]).cdf).pvalue > 1e-3


def test_simulation_distribution_at_a_fixed_time():
    Q = ctmc.birth_death_generator([1.0, 1.0], [2.0, 2.0])
    t = 0.7
    rng = np.random.default_rng(8)
    ends = []
    for _ in range(3000):
        times, states = ctmc.simulate_ctmc(Q, 0, t, rng=rng)
        ends.append(states[-1])
    freq = np.bincount(ends, minlength=3) / 3000
    p = ctmc.transition_matrix(Q, t)[0]
    assert (np.abs(freq - p) < 5 * np.sqrt(p * (1 - p) / 3000)).all()


def test_simulation_stops_in_absorbing_state_and_is_reproducible():
    Q = [[-1.0, 1.0, 0.0], [1.0, -2.0, 1.0], [0.0, 0.0, 0.0]]
    times, states = ctmc.simulate_ctmc(Q, 0, 1e6, rng=1)
    assert states[-1] == 2 and times[-1] < 1e6 and (states[:-1] != 2).all()
    t2, s2 = ctmc.simulate_ctmc(Q, 0, 1e6, rng=1)
    np.testing.assert_array_equal(times, t2)
    np.testing.assert_array_equal(states, s2)
    times, states = ctmc.simulate_ctmc(Q, 2, 5.0, rng=1)
    assert times.tolist() == [0.0] and states.tolist() == [2]


@pytest.mark.parametrize("x0", [-1, 3, 1.5, "a"])
def test_bad_initial_state(x0):
    with pytest.raises(ValueError, match="x0"):
        ctmc.simulate_ctmc([[-1.0, 1.0, 0.0], [1.0, -1.0, 0.0], [0.0, 0.0, 0.0]], x0, 1.0)


@pytest.mark.parametrize("t_max", [0.0, -1.0, np.nan, np.inf, "1"])
def test_bad_horizon(t_max):
    with pytest.raises(ValueError, match="t_max"):
        ctmc.simulate_ctmc([[-1.0, 1.0], [1.0, -1.0]], 0, t_max)
    with pytest.raises(ValueError, match="t_max"):
        ctmc.poisson_process(1.0, t_max)


# ------------------------------------------------------------------ Poisson process


def test_poisson_process_counts_gaps_and_arrival_times():
    rate, t_max = 3.0, 20_000.0
    arrivals = ctmc.poisson_process(rate, t_max, rng=123)
    assert (np.diff(arrivals) > 0).all() and arrivals[0] >= 0 and arrivals[-1] <= t_max
    # counts in disjoint unit intervals: i.i.d. Poisson(rate) (independent, stationary increments)
    counts = np.bincount(np.floor(arrivals).astype(int), minlength=int(t_max))
    n = counts.size
    pmf = stats.poisson.pmf(np.arange(12), rate)
    freq = np.bincount(counts, minlength=12)[:12] / n
    assert (np.abs(freq - pmf) < 5 * np.sqrt(pmf * (1 - pmf) / n) + 1e-12).all()
    assert abs(counts.mean() - rate) < 5 * math.sqrt(rate / n)
    assert abs(counts.var() - rate) < 0.1
    # gaps: i.i.d. Exp(rate)
    gaps = np.diff(np.concatenate(([0.0], arrivals)))
    assert stats.kstest(gaps, stats.expon(scale=1 / rate).cdf).pvalue > 1e-3
    # T_3 - T_0 over disjoint triples of gaps: Gamma(3, rate), density rate^3 t^2 e^{-rate t}/2
    triples = gaps[: 3 * (gaps.size // 3)].reshape(-1, 3).sum(axis=1)
    assert stats.kstest(triples, stats.gamma(3, scale=1 / rate).cdf).pvalue > 1e-3
    t = 1.3
    assert stats.gamma(3, scale=1 / rate).pdf(t) == pytest.approx(
        rate**3 * t**2 * math.exp(-rate * t) / math.gamma(3), rel=1e-14)


def test_poisson_process_is_the_birth_chain():
    # a Poisson process is the CTMC with q_{k,k+1} = rate: compare P(N_t = k)
    rate, t, N = 2.0, 1.5, 40
    Q = ctmc.birth_death_generator([rate] * N, [0.0] * N)
    Q[-1, -1], Q[-1, -2] = 0.0, 0.0
    P = ctmc.transition_matrix(Q, t)[0, :15]
    np.testing.assert_allclose(P, stats.poisson.pmf(np.arange(15), rate * t), rtol=1e-10,
                               atol=1e-15)


@pytest.mark.parametrize("rate", [0.0, -1.0, np.nan, np.inf, "2", True])
def test_bad_rate(rate):
    with pytest.raises(ValueError, match="rate"):
        ctmc.poisson_process(rate, 1.0)


def test_bad_birth_death_rates():
    with pytest.raises(ValueError, match="birth"):
        ctmc.birth_death_generator([1.0, -1.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="death"):
        ctmc.birth_death_stationary([1.0, 1.0], [1.0, 0.0])
    with pytest.raises(ValueError, match="same length"):
        ctmc.birth_death_generator([1.0], [1.0, 2.0])
