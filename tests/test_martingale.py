"""Tests of sprl.martingale (section 1.2) against exact values, properties and simulation.

Monte Carlo checks use fixed seeds and a tolerance of 5 standard errors (a false
alarm has probability below 1e-6 per check).
"""

import itertools
from fractions import Fraction
from math import comb

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from sprl.gambling import expected_duration, win_probability
from sprl.martingale import (
    de_moivre,
    doob_bound,
    doob_lp_bound,
    doubling_expected_fortune,
    doubling_strategy,
    drift_martingale,
    exact_policy_gradient,
    likelihood_ratio,
    martingale_transform,
    normalised_population,
    policy_gradient_estimates,
    polya_pmf,
    polya_urn,
    ruin_by_optional_stopping,
    simulate_chain_episodes,
    simulate_stopped_walk,
    square_martingale,
    walk_abs_moment,
    walk_maximum_tail,
)

mpmath.mp.dps = 50
Z5 = 5.0  # Monte Carlo tolerance in standard errors

probabilities = st.floats(0.01, 0.99)
rational_p = st.fractions(min_value=Fraction(1, 50), max_value=Fraction(49, 50), max_denominator=60)


def all_paths(n):
    """All 2**n step sequences of +-1, shape (2**n, n)."""
    return np.array(list(itertools.product((-1, 1), repeat=n)))


def path_weights(steps, p):
    ups = (steps == 1).sum(axis=1)
    return p**ups * (1 - p) ** (steps.shape[1] - ups)


# --- the walk martingales ---------------------------------------------------------------


@given(X=st.integers(-40, 40), p=rational_p)
def test_de_moivre_matches_exact_powers(X, p):
    exact = ((1 - p) / p) ** X
    assert float(de_moivre(X, float(p))) == pytest.approx(float(exact), rel=1e-13)


@given(X=st.integers(-50, 50), p=probabilities)
def test_de_moivre_one_step_martingale_property(X, p):
    q = 1 - p
    assert p * de_moivre(X + 1, p) + q * de_moivre(X - 1, p) == pytest.approx(
        de_moivre(X, p), rel=1e-13
    )


def test_de_moivre_is_accurate_near_one_half_and_exactly_one_at_half():
    assert de_moivre(10**6, 0.5) == 1.0
    p = 0.5 + 1e-12
    mp = mpmath.mpf(p)
    exact = ((1 - mp) / mp) ** 1000
    assert de_moivre(1000, p) == pytest.approx(float(exact), rel=1e-13)
    assert de_moivre(np.array([0, 1, 2]), 0.25).tolist() == pytest.approx([1, 3, 9], rel=1e-15)


@given(X=st.integers(-30, 30), n=st.integers(0, 40), p=rational_p)
@settings(max_examples=60)
def test_drift_and_square_martingales_one_step_exact(X, n, p):
    """E[M_{n+1} | X_n = X] = M_n, evaluated exactly with Fractions against the floats."""
    q = 1 - p
    d = p - q
    var = 1 - d * d

    def drift(x, m):
        return x - m * d

    def square(x, m):
        return (x - m * d) ** 2 - m * var

    for exact, f in ((drift, drift_martingale), (square, square_martingale)):
        lhs = p * exact(X + 1, n + 1) + q * exact(X - 1, n + 1)
        assert lhs == exact(X, n)  # the identity itself, exactly
        assert f(X, n, float(p)) == pytest.approx(float(exact(X, n)), rel=1e-12, abs=1e-12)


def test_square_martingale_at_one_half_is_x_squared_minus_n():
    X, n = np.arange(-5, 6), np.arange(11)
    assert np.array_equal(square_martingale(X, n, 0.5), X**2 - n)
    assert np.array_equal(drift_martingale(X, n, 0.5), X.astype(float))


@pytest.mark.parametrize("p", [0.5, 0.3])
def test_walk_martingales_have_constant_mean_by_enumeration(p):
    n = 10
    steps = all_paths(n)
    w = path_weights(steps, p)
    X = 3 + steps.sum(axis=1)
    assert w @ de_moivre(X, p) == pytest.approx(de_moivre(3, p), rel=1e-13)
    assert w @ drift_martingale(X, n, p) == pytest.approx(3, rel=1e-13)
    assert w @ square_martingale(X, n, p) == pytest.approx(9, rel=1e-13)


# --- martingale transforms and stopping ----------------------------------------------------


def test_martingale_transform_example_and_shapes():
    assert martingale_transform([1, -1, 1], [1, 2, 4]).tolist() == [0, 1, -1, 3]
    out = martingale_transform(np.ones((3, 4, 2)), 2.0, axis=1)
    assert out.shape == (3, 5, 2)
    assert np.array_equal(out[0, :, 0], [0, 2, 4, 6, 8])


@given(table=st.lists(st.integers(-3, 3), min_size=2**7, max_size=2**7), p=rational_p)
@settings(max_examples=30, deadline=None)
def test_predictable_stakes_give_a_fair_game_exactly(table, p):
    """Any stake decided from the past only (here: an arbitrary table indexed by the
    past steps) gives gains of mean exactly zero against centred increments."""
    n = 6
    steps = all_paths(n)
    centred = steps - float(2 * p - 1)
    # stake at step k = table[code of steps 1..k-1]; codes are distinct per (k, history)
    codes = np.zeros_like(steps)
    for k in range(1, n):
        codes[:, k] = 2 * codes[:, k - 1] + (steps[:, k - 1] == 1) + 1
    stakes = np.asarray(table)[codes % len(table)]
    gains = martingale_transform(centred, stakes)[:, -1]
    w = path_weights(steps, float(p))
    assert abs(w @ gains) < 1e-12


def test_stopped_walk_freezes_and_matches_transform():
    paths, T = simulate_stopped_walk(3, 8, 0.45, 60, 500, rng=1)
    assert paths.shape == (500, 61) and T.shape == (500,)
    assert ((paths >= 0) & (paths <= 8)).all()
    assert (np.abs(np.diff(paths, axis=1)) <= 1).all()
    for i in range(50):
        if T[i] >= 0:
            assert paths[i, T[i]] in (0, 8)
            assert (paths[i, T[i] :] == paths[i, T[i]]).all()
            assert ((paths[i, : T[i]] > 0) & (paths[i, : T[i]] < 8)).all()
        else:
            assert ((paths[i] > 0) & (paths[i] < 8)).all()
    # X_{n ^ T} = X_0 + (H . X)_n with H_k = 1{T >= k}
    dx = np.diff(paths, axis=1)
    time = np.arange(1, 61)
    stakes = (T[:, None] < 0) | (time[None, :] <= T[:, None])
    assert np.array_equal(3 + martingale_transform(dx, stakes), paths)


def test_stopped_de_moivre_has_constant_mean_and_exit_law():
    k, S, p = 4, 10, 0.4
    paths, T = simulate_stopped_walk(k, S, p, 400, 20_000, rng=7)
    assert (T >= 0).all()  # P(T > 400) < 1e-8
    M = de_moivre(paths, p)
    for n in (5, 40, 400):
        se = M[:, n].std() / np.sqrt(M.shape[0])
        assert abs(M[:, n].mean() - de_moivre(k, p)) < Z5 * se
    f = win_probability(k, S, p)
    won = paths[:, -1] == S
    assert abs(won.mean() - f) < Z5 * np.sqrt(f * (1 - f) / won.size)


# --- doubling strategy --------------------------------------------------------------------


def test_doubling_strategy_paths_are_exact():
    fortune, first = doubling_strategy(0.5, 30, 1000, rng=3)
    n = np.arange(31)
    for i in range(100):
        T = first[i]
        assert T >= 1 or T == -1
        expected = np.where((T > 0) & (n >= T), 1.0, -(2.0**n - 1))
        assert np.array_equal(fortune[i], expected)
    assert fortune[:, 0].tolist() == [0.0] * 1000
    assert (fortune[first > 0, -1] == 1).all()


@pytest.mark.parametrize("p", [0.5, 0.45, 0.6])
def test_doubling_expected_fortune_exact(p):
    q = Fraction(1) - Fraction(p)
    for n in range(0, 12):
        # enumerate T: P(T = t) = p q^{t-1} for t <= n, P(T > n) = q^n
        exact = sum(Fraction(p) * q ** (t - 1) for t in range(1, n + 1)) - q**n * (2**n - 1)
        assert doubling_expected_fortune(p, n) == pytest.approx(float(exact), abs=1e-13)
    assert doubling_expected_fortune(0.5, np.arange(50)).tolist() == [0.0] * 50


def test_doubling_strategy_monte_carlo():
    n, N = 8, 50_000
    fortune, first = doubling_strategy(0.5, n, N, rng=11)
    # E W_n = 0 with Var W_n = (1 - 2^-n) + 2^-n (2^n - 1)^2
    var = (1 - 2.0**-n) + 2.0**-n * (2.0**n - 1) ** 2
    assert abs(fortune[:, -1].mean()) < Z5 * np.sqrt(var / N)
    won = (first > 0).mean()
    assert abs(won - (1 - 2.0**-n)) < Z5 * np.sqrt(2.0**-n / N)


# --- gambler's ruin by optional stopping --------------------------------------------------


@pytest.mark.parametrize("p", [0.5, 0.45, 0.3, 0.7, 0.5 + 1e-12, 0.5 - 1e-12, 0.49999, 0.9])
@pytest.mark.parametrize("k,S", [(1, 2), (3, 10), (10, 20), (90, 100), (1, 200)])
def test_optional_stopping_agrees_with_gambling(k, S, p):
    win, duration = ruin_by_optional_stopping(k, S, p)
    assert float(win) == pytest.approx(win_probability(k, S, p), rel=1e-12, abs=1e-300)
    assert float(duration) == pytest.approx(expected_duration(k, S, p), rel=1e-12)


@given(p=rational_p, S=st.integers(1, 12), data=st.data())
@settings(max_examples=40)
def test_optional_stopping_solves_first_step_equations_exactly(p, S, data):
    k = data.draw(st.integers(0, S))
    f = [ruin_by_optional_stopping(j, S, p)[0] for j in range(S + 1)]
    h = [ruin_by_optional_stopping(j, S, p)[1] for j in range(S + 1)]
    assert f[0] == 0 and f[S] == 1 and h[0] == 0 and h[S] == 0
    q = 1 - p
    for j in range(1, S):
        assert f[j] == p * f[j + 1] + q * f[j - 1]
        assert h[j] == 1 + p * h[j + 1] + q * h[j - 1]
    assert isinstance(f[k], Fraction)


def test_optional_stopping_takes_fractions_and_known_values():
    assert ruin_by_optional_stopping(1, 3, Fraction(1, 2)) == (Fraction(1, 3), Fraction(2))
    win, dur = ruin_by_optional_stopping(1, 2, Fraction(1, 3))
    assert (win, dur) == (Fraction(1, 3), Fraction(1))


# --- branching, likelihood ratio ----------------------------------------------------------


def test_normalised_population_values_and_exact_one_step():
    Z = np.array([[1, 2, 4, 8], [1, 0, 0, 0]])
    assert normalised_population(Z, 2.0).tolist() == [[1, 1, 1, 1], [1, 0, 0, 0]]
    # E[Z_{n+1} | Z_n = z] = z mu, by exact convolution of the offspring law
    pmf = [Fraction(1, 4), Fraction(1, 4), Fraction(1, 2)]
    mu = sum(j * w for j, w in enumerate(pmf))
    law = [Fraction(1)]
    for z in range(1, 5):
        law = [
            sum(law[i] * pmf[j - i] for i in range(len(law)) if 0 <= j - i < len(pmf))
            for j in range(len(law) + len(pmf) - 1)
        ]
        assert sum(j * w for j, w in enumerate(law)) == z * mu


def test_normalised_population_monte_carlo_mean_one():
    rng = np.random.default_rng(5)
    mu, N = 1.5, 20_000
    Z = np.ones((N, 7), dtype=np.int64)
    for n in range(6):
        Z[:, n + 1] = rng.poisson(mu * Z[:, n])
    W = normalised_population(Z, mu)
    for n in (1, 6):
        assert abs(W[:, n].mean() - 1) < Z5 * W[:, n].std() / np.sqrt(N)


def test_likelihood_ratio_exact_mean_and_martingale():
    n, p, p_alt = 8, 0.3, 0.6
    flips = (all_paths(n) + 1) // 2
    w = path_weights(all_paths(n), p)
    L = likelihood_ratio(flips, p, p_alt)
    assert L.shape == (2**n, n + 1) and (L[:, 0] == 1).all()
    for m in range(n + 1):
        assert w @ L[:, m] == pytest.approx(1.0, rel=1e-13)
    # exact value of one path
    assert likelihood_ratio([1, 0, 1], 0.5, 0.8)[-1] == pytest.approx(0.8 * 0.2 * 0.8 / 0.125, rel=1e-14)


def test_likelihood_ratio_tends_to_zero():
    rng = np.random.default_rng(2)
    flips = rng.random((2000, 400)) < 0.5
    L = likelihood_ratio(flips, 0.5, 0.6)
    assert np.median(L[:, -1]) < 1e-3
    assert likelihood_ratio([[1, 0]], 0.5, 1.0)[0].tolist() == [1.0, 2.0, 0.0]


# --- Polya's urn ---------------------------------------------------------------------------


@pytest.mark.parametrize("a,b,n", [(1, 1, 6), (2, 3, 10), (5, 1, 7)])
def test_polya_pmf_exact(a, b, n):
    def exact(j):  # C(n, j) a^(j) b^(n-j) / (a+b)^(n), rising factorials
        num = Fraction(1)
        for i in range(j):
            num *= a + i
        for i in range(n - j):
            num *= b + i
        den = 1
        for i in range(n):
            den *= a + b + i
        return comb(n, j) * num / den

    pmf = polya_pmf(a, b, n)
    ref = [float(exact(j)) for j in range(n + 1)]
    assert pmf == pytest.approx(ref, rel=1e-12)
    # martingale: E M_n = a / (a + b)
    assert pmf @ ((a + np.arange(n + 1)) / (a + b + n)) == pytest.approx(a / (a + b), rel=1e-13)


@given(R=st.integers(1, 30), B=st.integers(1, 30))
def test_polya_one_step_martingale_exact(R, B):
    N = R + B
    m = Fraction(R, N)
    assert m * Fraction(R + 1, N + 1) + (1 - m) * Fraction(R, N + 1) == m


def test_polya_simulation_matches_beta_binomial_chi_square():
    a, b, n, N = 2, 3, 12, 40_000
    M = polya_urn(a, b, n, N, rng=13)
    assert M.shape == (N, n + 1) and (M[:, 0] == a / (a + b)).all()
    K = np.rint(M[:, -1] * (a + b + n)).astype(int) - a
    observed = np.bincount(K, minlength=n + 1)
    expected = N * polya_pmf(a, b, n)
    chi2 = ((observed - expected) ** 2 / expected).sum()
    assert stats.chi2.sf(chi2, df=n) > 1e-3
    # each step moves by one ball
    dR = np.diff(np.rint(M * (a + b + np.arange(n + 1))), axis=1)
    assert np.isin(dR, (0, 1)).all()


def test_polya_limit_is_beta_ks():
    a, b = 2, 5
    final = polya_urn(a, b, 3000, 3000, rng=17, path=False)
    assert final.shape == (3000,)
    assert stats.kstest(final, stats.beta(a, b).cdf).pvalue > 1e-3


# --- Doob's inequality ---------------------------------------------------------------------


@pytest.mark.parametrize("n,c", [(10, 3), (12, 1), (9, 4), (11, 20)])
def test_walk_maximum_tail_by_enumeration(n, c):
    steps = all_paths(n)
    X = np.cumsum(steps, axis=1)
    hit = (np.abs(X).max(axis=1) >= c).mean()
    assert walk_maximum_tail(n, c) == pytest.approx(hit, abs=1e-14)
    assert walk_abs_moment(n) == pytest.approx(np.abs(X[:, -1]).mean(), rel=1e-13)
    assert walk_abs_moment(n, order=2) == pytest.approx(n, rel=1e-13)


@given(n=st.integers(0, 60), c=st.integers(1, 20))
@settings(max_examples=50)
def test_doob_inequality_holds_exactly_for_the_fair_walk(n, c):
    assert walk_maximum_tail(n, c) <= walk_abs_moment(n) / c + 1e-14
    assert walk_maximum_tail(n, c) <= n / c**2 + 1e-14


def test_doob_bound_estimates_and_l2():
    rng = np.random.default_rng(21)
    n, N, c = 50, 20_000, 10
    steps = np.where(rng.random((N, n)) < 0.5, 1, -1)
    paths = np.concatenate([np.zeros((N, 1)), np.cumsum(steps, axis=1)], axis=1)
    prob, bound = doob_bound(paths, c)
    exact = walk_maximum_tail(n, c)
    assert abs(prob - exact) < Z5 * np.sqrt(exact * (1 - exact) / N)
    assert prob <= bound
    prob2, bound2 = doob_bound(paths, c, order=2)
    assert prob2 == prob and bound2 == pytest.approx(n / c**2, rel=0.05)
    lhs, rhs = doob_lp_bound(paths)
    assert lhs <= rhs and rhs == pytest.approx(4 * n, rel=0.05)
    # L^2 inequality exact for n = 12 by enumeration
    X = np.cumsum(all_paths(12), axis=1)
    assert (np.abs(X).max(axis=1) ** 2).mean() <= 4 * 12


# --- policy gradients ---------------------------------------------------------------------

THETA = np.array([[0.3, -0.2], [0.1, 0.5]])
REWARD = np.array([[1.0, 0.0], [-0.5, 2.0]])


def test_exact_gradient_matches_finite_differences():
    T = 4
    _, grad, _ = exact_policy_gradient(THETA, REWARD, T)
    eps = 1e-6
    for i, j in itertools.product(range(2), range(2)):
        e = np.zeros((2, 2))
        e[i, j] = eps
        up = exact_policy_gradient(THETA + e, REWARD, T)[0]
        down = exact_policy_gradient(THETA - e, REWARD, T)[0]
        assert grad[i, j] == pytest.approx((up - down) / (2 * eps), abs=1e-8)


def test_exact_estimator_moments():
    T = 5
    baseline = np.linspace(3, 0.5, T)
    J, grad, mom = exact_policy_gradient(THETA, REWARD, T, baseline=baseline)
    for name in ("full", "reward_to_go", "baseline"):
        np.testing.assert_allclose(mom[name][0], grad, atol=1e-13)
    np.testing.assert_allclose(mom["past"][0], 0.0, atol=1e-13)
    assert (mom["reward_to_go"][1] < mom["full"][1]).all()
    # uniform policy, T = 1: J = mean reward from state 0
    J1, _, _ = exact_policy_gradient(np.zeros((2, 2)), REWARD, 1)
    assert J1 == pytest.approx(0.5)


def test_score_has_conditional_mean_zero_and_estimators_decompose():
    rewards, scores = simulate_chain_episodes(THETA, REWARD, 3, 5, rng=0)
    assert rewards.shape == (5, 3) and scores.shape == (5, 3, 2, 2)
    # each score row sums to zero (e_a - pi), and only the row of s_t is non-zero
    assert np.allclose(scores.sum(axis=-1), 0)
    assert ((scores != 0).any(axis=-1).sum(axis=-1) == 1).all()
    est = policy_gradient_estimates(rewards, scores, baseline=1.0)
    np.testing.assert_allclose(est["full"], est["reward_to_go"] + est["past"], atol=1e-14)
    # E[score | s] = sum_a pi(a|s) (e_a - pi) = 0
    pi = np.exp(THETA) / np.exp(THETA).sum(axis=1, keepdims=True)
    for s in range(2):
        mean = sum(pi[s, a] * (np.eye(2)[a] - pi[s]) for a in range(2))
        assert np.allclose(mean, 0, atol=1e-16)


def test_policy_gradient_monte_carlo_agrees_with_exact():
    T, N = 4, 40_000
    _, grad, mom = exact_policy_gradient(THETA, REWARD, T)
    rewards, scores = simulate_chain_episodes(THETA, REWARD, T, N, rng=99)
    est = policy_gradient_estimates(rewards, scores)
    for name in ("full", "reward_to_go", "past"):
        target = 0.0 if name == "past" else grad
        se = np.sqrt(mom[name][1] / N)
        assert (np.abs(est[name].mean(axis=0) - target) <= Z5 * se + 1e-15).all()


# --- bad input: one test per rule ----------------------------------------------------------


@pytest.mark.parametrize("p", [1.5, -0.1, float("nan"), "a"])
def test_bad_p_rejected(p):
    for call in (
        lambda: de_moivre(1, p),
        lambda: drift_martingale(1, 1, p),
        lambda: square_martingale(1, 1, p),
        lambda: simulate_stopped_walk(1, 3, p, 5, 5),
        lambda: doubling_strategy(p, 5, 5),
        lambda: doubling_expected_fortune(p, 3),
        lambda: likelihood_ratio([1], p, 0.5),
        lambda: walk_maximum_tail(3, 2, p),
        lambda: walk_abs_moment(3, p),
    ):
        with pytest.raises(ValueError, match="p"):
            call()


@pytest.mark.parametrize("p", [0.0, 1.0])
def test_degenerate_p_rejected_where_the_martingale_needs_both_steps(p):
    with pytest.raises(ValueError, match=r"p must lie in \(0, 1\)"):
        de_moivre(1, p)
    with pytest.raises(ValueError, match=r"p must lie in \(0, 1\)"):
        ruin_by_optional_stopping(1, 3, p)
    with pytest.raises(ValueError, match=r"p must lie in \(0, 1\)"):
        likelihood_ratio([1], p, 0.5)


def test_bad_p_for_ruin_rejected():
    for p in (float("nan"), 1.5, "x", True):
        with pytest.raises(ValueError, match="p"):
            ruin_by_optional_stopping(1, 3, p)


def test_bad_p_alt_rejected():
    with pytest.raises(ValueError, match="p_alt"):
        likelihood_ratio([1], 0.5, 1.2)


def test_non_integer_positions_rejected():
    with pytest.raises(ValueError, match="X"):
        de_moivre(1.5, 0.3)
    with pytest.raises(ValueError, match="n must be >= 0"):
        drift_martingale(1, -1, 0.3)
    with pytest.raises(ValueError, match="n must be >= 0"):
        square_martingale(1, -2, 0.3)


def test_transform_input_rules():
    with pytest.raises(ValueError, match="stakes must broadcast"):
        martingale_transform([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="increments must hold finite"):
        martingale_transform([1, np.nan], 1)
    with pytest.raises(ValueError, match="stakes must hold finite"):
        martingale_transform([1, 1], [np.inf, 1])
    with pytest.raises(ValueError, match="increments must have"):
        martingale_transform(1.0, 1.0)


def test_stopped_walk_counts_rules():
    with pytest.raises(ValueError, match="k must be <= 3"):
        simulate_stopped_walk(4, 3, 0.5, 5, 5)
    with pytest.raises(ValueError, match="S must be >= 1"):
        simulate_stopped_walk(0, 0, 0.5, 5, 5)
    with pytest.raises(ValueError, match="n_steps must be >= 1"):
        simulate_stopped_walk(1, 3, 0.5, 0, 5)
    with pytest.raises(ValueError, match="n_paths must be >= 1"):
        simulate_stopped_walk(1, 3, 0.5, 5, 0)
    with pytest.raises(ValueError, match="rng"):
        simulate_stopped_walk(1, 3, 0.5, 5, 5, rng="seed")


def test_doubling_rules():
    with pytest.raises(ValueError, match="n_rounds must be <= 1000"):
        doubling_strategy(0.5, 1001, 2)
    with pytest.raises(ValueError, match="n_rounds must be >= 1"):
        doubling_strategy(0.5, 0, 2)
    with pytest.raises(ValueError, match="n_paths must be >= 1"):
        doubling_strategy(0.5, 3, 0)
    with pytest.raises(ValueError, match="n must be >= 0"):
        doubling_expected_fortune(0.5, -1)


def test_ruin_range_rules():
    with pytest.raises(ValueError, match="k must be <= 3"):
        ruin_by_optional_stopping(4, 3, 0.5)
    with pytest.raises(ValueError, match="S must be >= 1"):
        ruin_by_optional_stopping(0, 0, 0.5)


def test_branching_rules():
    with pytest.raises(ValueError, match="mean must be a positive"):
        normalised_population([[1, 2]], 0.0)
    with pytest.raises(ValueError, match="mean must be a positive"):
        normalised_population([[1, 2]], float("nan"))
    with pytest.raises(ValueError, match="Z must be >= 0"):
        normalised_population([[1, -2]], 1.5)
    with pytest.raises(ValueError, match="Z must have"):
        normalised_population(3, 1.5)


def test_flips_rule():
    with pytest.raises(ValueError, match="flips must hold only 0 and 1"):
        likelihood_ratio([0, 2], 0.5, 0.6)
    with pytest.raises(ValueError, match="flips must have"):
        likelihood_ratio(1, 0.5, 0.6)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(red=0), "red must be >= 1"),
        (dict(black=0), "black must be >= 1"),
        (dict(n_draws=0), "n_draws must be >= 1"),
        (dict(n_runs=0), "n_runs must be >= 1"),
        (dict(red=1.5), "red must be an integer"),
    ],
)
def test_polya_rules(kwargs, match):
    args = dict(red=1, black=1, n_draws=3, n_runs=2) | kwargs
    with pytest.raises(ValueError, match=match):
        polya_urn(**args)
    if "n_runs" not in kwargs and "n_draws" not in kwargs:
        with pytest.raises(ValueError, match=match):
            polya_pmf(args["red"], args["black"], 3)
    with pytest.raises(ValueError, match="n_draws must be >= 0"):
        polya_pmf(1, 1, -1)


def test_doob_rules():
    paths = np.zeros((3, 4))
    with pytest.raises(ValueError, match="c must be > 0"):
        doob_bound(paths, 0)
    with pytest.raises(ValueError, match="order must be >= 1"):
        doob_bound(paths, 1, order=0.5)
    with pytest.raises(ValueError, match="paths must be a 2-D"):
        doob_bound(np.zeros(4), 1)
    with pytest.raises(ValueError, match="paths must hold finite"):
        doob_bound([[0, np.nan]], 1)
    with pytest.raises(ValueError, match="order must be > 1"):
        doob_lp_bound(paths, order=1)
    with pytest.raises(ValueError, match="c must be >= 1"):
        walk_maximum_tail(3, 0)
    with pytest.raises(ValueError, match="n must be >= 0"):
        walk_maximum_tail(-1, 2)
    with pytest.raises(ValueError, match="order must be > 0"):
        walk_abs_moment(3, 0.5, order=0)


def test_policy_gradient_rules():
    with pytest.raises(ValueError, match="theta must have shape"):
        simulate_chain_episodes(np.zeros(2), REWARD, 3, 2)
    with pytest.raises(ValueError, match="reward must have shape"):
        simulate_chain_episodes(THETA, np.zeros(3), 3, 2)
    with pytest.raises(ValueError, match="theta must hold finite"):
        exact_policy_gradient(np.full((2, 2), np.nan), REWARD, 3)
    with pytest.raises(ValueError, match="horizon must be >= 1"):
        simulate_chain_episodes(THETA, REWARD, 0, 2)
    with pytest.raises(ValueError, match="n_episodes must be >= 1"):
        simulate_chain_episodes(THETA, REWARD, 3, 0)
    with pytest.raises(ValueError, match="horizon must be <= 16"):
        exact_policy_gradient(THETA, REWARD, 17)
    with pytest.raises(ValueError, match="baseline must be"):
        policy_gradient_estimates(np.zeros((2, 3)), np.zeros((2, 3, 2, 2)), baseline=[1, 2])
    with pytest.raises(ValueError, match="scores must be shaped"):
        policy_gradient_estimates(np.zeros((2, 3)), np.zeros((2, 4, 2, 2)))
    with pytest.raises(ValueError, match="rewards must be 2-D"):
        policy_gradient_estimates(np.zeros(3), np.zeros((3, 2)))


def _killed_mass_exact(n, c, p):
    """P(max_{k<=n} |X_k| >= c) in exact rationals (the reference)."""
    p = Fraction(p)
    alive, killed = {0: Fraction(1)}, Fraction(0)
    for _ in range(n):
        nxt = {}
        for x, w in alive.items():
            for y, step in ((x + 1, p), (x - 1, 1 - p)):
                if abs(y) >= c:
                    killed += w * step
                else:
                    nxt[y] = nxt.get(y, 0) + w * step
        alive = nxt
    return killed


@pytest.mark.parametrize("n, c, p", [(100, 70, "1/2"), (100, 80, "1/2"), (100, 10, "1/2"),
                                     (60, 25, "3/10"), (9, 9, "1/2")])
def test_walk_maximum_tail_far_tail_is_exact(n, c, p):
    exact = _killed_mass_exact(n, c, Fraction(p))
    got = walk_maximum_tail(n, c, float(Fraction(p)))
    assert got == pytest.approx(float(exact), rel=1e-12, abs=0)
