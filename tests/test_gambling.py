"""Tests of sprl.gambling (section 1.1.1) against exact and published values."""

from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sprl.gambling import expected_duration, simulate_ruin, transition_matrix, win_probability

mpmath.mp.dps = 60


def exact_f(k, S, p):
    """f_S(k) in 60-digit arithmetic (p given as a float is taken exactly)."""
    p = mpmath.mpf(p)
    q = 1 - p
    if p == q:
        return mpmath.mpf(k) / S
    if p == 0:
        return mpmath.mpf(int(k == S))
    if q == 0:
        return mpmath.mpf(int(k > 0))
    r = q / p
    return (1 - r**k) / (1 - r**S)


def exact_h(k, S, p):
    p = mpmath.mpf(p)
    q = 1 - p
    if p == q:
        return mpmath.mpf(k * (S - k))
    if k in (0, S):
        return mpmath.mpf(0)
    if p == 0:
        return mpmath.mpf(k)
    if q == 0:
        return mpmath.mpf(S - k)
    return (k - S * exact_f(k, S, p)) / (q - p)


def fraction_solution(S, p):
    """Solve the first-step equations exactly (tridiagonal elimination over Fractions)."""
    q = 1 - p
    # Unknowns x_1..x_{S-1}:  x_k - p x_{k+1} - q x_{k-1} = b_k.
    def solve(b, left, right):
        n = S - 1
        diag = [Fraction(1)] * n
        rhs = list(b)
        rhs[0] += q * left
        rhs[-1] += p * right
        for i in range(1, n):  # forward elimination of the sub-diagonal (-q)
            m = -q / diag[i - 1]
            diag[i] -= m * (-p)
            rhs[i] -= m * rhs[i - 1]
        x = [Fraction(0)] * n
        x[-1] = rhs[-1] / diag[-1]
        for i in range(n - 2, -1, -1):
            x[i] = (rhs[i] + p * x[i + 1]) / diag[i]
        return [left, *x, right]

    f = solve([Fraction(0)] * (S - 1), Fraction(0), Fraction(1))
    h = solve([Fraction(1)] * (S - 1), Fraction(0), Fraction(0))
    return f, h


# --- known values ---------------------------------------------------------------------

# Feller (1968), vol. I, ch. XIV.2, table 1: (p, k, S, ruin probability, expected duration).
FELLER = [
    (0.5, 9, 10, 0.100, 9.0),
    (0.5, 90, 100, 0.100, 900.0),
    (0.5, 900, 1000, 0.100, 90_000.0),
    (0.5, 950, 1000, 0.050, 47_500.0),
    (0.5, 8_000, 10_000, 0.200, 16_000_000.0),
    (0.45, 9, 10, 0.210, 11.0),
    (0.45, 90, 100, 0.866, 765.6),
    (0.45, 99, 100, 0.182, 171.8),
    (0.4, 90, 100, 0.983, 441.3),
    (0.4, 99, 100, 0.333, 161.7),
]


@pytest.mark.parametrize(("p", "k", "S", "ruin", "duration"), FELLER)
def test_feller_table(p, k, S, ruin, duration):
    assert round(1 - win_probability(k, S, p), 3) == ruin
    assert round(expected_duration(k, S, p), 1) == duration


@pytest.mark.parametrize("S", [1, 2, 7, 20])
@pytest.mark.parametrize("p", [Fraction(1, 2), Fraction(2, 5), Fraction(7, 10), Fraction(1, 3)])
def test_exact_rational_solution(S, p):
    """The closed forms equal the exact solution of the first-step equations."""
    if S == 1:
        assert win_probability([0, 1], 1, float(p)).tolist() == [0.0, 1.0]
        assert expected_duration([0, 1], 1, float(p)).tolist() == [0.0, 0.0]
        return
    f, h = fraction_solution(S, p)
    k = np.arange(S + 1)
    np.testing.assert_allclose(win_probability(k, S, float(p)), [float(x) for x in f],
                               rtol=1e-13, atol=0)
    np.testing.assert_allclose(expected_duration(k, S, float(p)), [float(x) for x in h],
                               rtol=1e-13, atol=0)


def test_fair_game_closed_forms():
    S = 37
    k = np.arange(S + 1)
    assert np.array_equal(win_probability(k, S, 0.5), k / S)
    assert np.array_equal(expected_duration(k, S, 0.5), (k * (S - k)).astype(float))


def test_notes_formula_is_the_ruin_probability():
    """Erratum 1.1.1-1: the notes' expression equals 1 - f_S(k), not f_S(k)."""
    S, p = 15, Fraction(3, 7)
    q = 1 - p
    f, _ = fraction_solution(S, p)
    notes = [((p / q) ** (S - k) - 1) / ((p / q) ** S - 1) for k in range(S + 1)]
    assert notes == [1 - x for x in f]


# --- accuracy at the edges --------------------------------------------------------------

NEAR_HALF = [0.5, 0.5 + 1e-12, 0.5 - 1e-12, 0.4999999, 0.5000001, 0.5 + 1e-6, 0.49, 0.51]


@pytest.mark.parametrize("S", [20, 10_000])
@pytest.mark.parametrize("p", NEAR_HALF)
def test_continuous_and_accurate_near_one_half(S, p):
    ks = sorted({1, 2, S // 3, S // 2, S - 2, S - 1})
    for k in ks:
        assert win_probability(k, S, p) == pytest.approx(float(exact_f(k, S, p)), rel=1e-12)
        assert expected_duration(k, S, p) == pytest.approx(float(exact_h(k, S, p)), rel=1e-11)


@pytest.mark.parametrize("p", [0.01, 0.3, 0.45, 0.55, 0.7, 0.99, 0.5 + 3 / 20, 0.5 - 1 / 40])
@pytest.mark.parametrize("S", [3, 20, 100, 1000])
def test_accurate_away_from_one_half(S, p):
    for k in range(0, S + 1, max(1, S // 9)):
        ref_f, ref_h = exact_f(k, S, p), exact_h(k, S, p)
        if ref_f > 1e-300:
            assert win_probability(k, S, p) == pytest.approx(float(ref_f), rel=1e-12)
        if k not in (0, S):
            assert expected_duration(k, S, p) == pytest.approx(float(ref_h), rel=1e-11)


@pytest.mark.parametrize("p", [0.3, 0.7])
def test_huge_S_no_overflow(p):
    S = 10**6
    k = np.array([0, 1, 10, S // 2, S - 10, S - 1, S])
    f = win_probability(k, S, p)
    h = expected_duration(k, S, p)
    assert np.isfinite(f).all() and np.isfinite(h).all()
    for ki, fi, hi in zip(k, f, h):
        ref_f = exact_f(int(ki), S, p)
        if ref_f > 1e-300:
            assert fi == pytest.approx(float(ref_f), rel=1e-10)
        else:
            assert fi == 0.0
        assert hi == pytest.approx(float(exact_h(int(ki), S, p)), rel=1e-10, abs=1e-9)


@pytest.mark.parametrize("p", [0.0, 0.2, 0.5, 0.5 + 1e-12, 0.8, 1.0])
def test_exact_at_the_boundaries(p):
    S = 25
    assert win_probability(0, S, p) == 0.0
    assert win_probability(S, S, p) == 1.0
    assert expected_duration(0, S, p) == 0.0
    assert expected_duration(S, S, p) == 0.0


def test_degenerate_games():
    k = np.arange(11)
    assert np.array_equal(win_probability(k, 10, 1.0), (k > 0).astype(float))
    assert np.array_equal(win_probability(k, 10, 0.0), (k == 10).astype(float))
    assert np.array_equal(expected_duration(k, 10, 1.0), np.where(k > 0, 10 - k, 0).astype(float))
    assert np.array_equal(expected_duration(k, 10, 0.0), np.where(k < 10, k, 0).astype(float))


def test_vectorised_over_k_and_p():
    k = np.arange(21)[:, None]
    p = np.array([0.3, 0.5, 0.6])[None, :]
    f = win_probability(k, 20, p)
    h = expected_duration(k, 20, p)
    assert f.shape == h.shape == (21, 3)
    for j, pj in enumerate(p.ravel()):
        np.testing.assert_array_equal(f[:, j], win_probability(np.arange(21), 20, pj))
        np.testing.assert_array_equal(h[:, j], expected_duration(np.arange(21), 20, pj))
    assert isinstance(win_probability(3, 10, 0.4), float)
    assert isinstance(expected_duration(3, 10, 0.4), float)


# --- properties ---------------------------------------------------------------------------

probabilities = st.floats(0.0, 1.0, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(S=st.integers(1, 400), data=st.data(), p=probabilities)
def test_symmetry(S, data, p):
    """f_S(k; p) + f_S(S - k; 1 - p) = 1 and h_S(k; p) = h_S(S - k; 1 - p)."""
    k = data.draw(st.integers(0, S))
    q = 1.0 - p
    assert win_probability(k, S, p) + win_probability(S - k, S, q) == pytest.approx(1.0, abs=1e-12)
    h1, h2 = expected_duration(k, S, p), expected_duration(S - k, S, q)
    assert h1 == pytest.approx(h2, rel=1e-10, abs=1e-10)


@settings(max_examples=200, deadline=None)
@given(S=st.integers(2, 300), p=probabilities)
def test_monotone_in_k_and_first_step_equations_hold(S, p):
    k = np.arange(S + 1)
    f = win_probability(k, S, p)
    h = expected_duration(k, S, p)
    assert (np.diff(f) >= -1e-15).all()
    assert (f >= 0).all() and (f <= 1).all() and (h >= 0).all()
    inner = k[1:-1]
    q = 1 - p
    np.testing.assert_allclose(f[inner], p * f[inner + 1] + q * f[inner - 1], atol=1e-12)
    np.testing.assert_allclose(h[inner], 1 + p * h[inner + 1] + q * h[inner - 1],
                               rtol=1e-9, atol=1e-9)


@settings(max_examples=100, deadline=None)
@given(S=st.integers(2, 60), p=st.floats(0.05, 0.95))
def test_monotone_in_p(S, p):
    k = np.arange(1, S)
    assert (win_probability(k, S, min(p + 0.01, 1.0)) >= win_probability(k, S, p) - 1e-15).all()


# --- the chain and the simulation ---------------------------------------------------------

def test_transition_matrix_linear_solve_agrees():
    from scipy import linalg

    S, p = 30, 0.47
    P = transition_matrix(S, p)
    assert P.shape == (S + 1, S + 1)
    np.testing.assert_allclose(P.sum(axis=1), 1.0)
    Q, R = P[1:S, 1:S], P[1:S, S]
    k = np.arange(1, S)
    f = linalg.solve(np.eye(S - 1) - Q, R)
    h = linalg.solve(np.eye(S - 1) - Q, np.ones(S - 1))
    np.testing.assert_allclose(f, win_probability(k, S, p), rtol=1e-12)
    np.testing.assert_allclose(h, expected_duration(k, S, p), rtol=1e-11)


@pytest.mark.parametrize(("k", "S", "p"), [(10, 20, 0.5), (5, 20, 0.45), (3, 10, 0.7), (1, 4, 0.2)])
def test_simulation_agrees_within_five_standard_errors(k, S, p):
    n = 100_000
    won, duration = simulate_ruin(k, S, p, n, rng=12345)
    f, h = win_probability(k, S, p), expected_duration(k, S, p)
    assert abs(won.mean() - f) < 5 * np.sqrt(f * (1 - f) / n)
    assert abs(duration.mean() - h) < 5 * duration.std(ddof=1) / np.sqrt(n)
    assert duration.min() >= min(k, S - k)  # cannot end faster than the nearer barrier
    assert ((duration - k) % 2 == 0)[won].all()  # parity: reaching S takes S - k + 2j rounds


def test_simulation_edges_and_reproducibility():
    won, duration = simulate_ruin(0, 10, 0.5, 5, rng=0)
    assert not won.any() and (duration == 0).all()
    won, duration = simulate_ruin(10, 10, 0.5, 5, rng=0)
    assert won.all() and (duration == 0).all()
    won, duration = simulate_ruin(3, 10, 1.0, 4, rng=0)
    assert won.all() and (duration == 7).all()
    a = simulate_ruin(5, 12, 0.4, 1000, rng=7)
    b = simulate_ruin(5, 12, 0.4, 1000, rng=np.random.default_rng(7))
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert a[0].dtype == bool and a[1].dtype == np.int64 and a[0].shape == (1000,)


def test_simulation_duration_distribution_matches_the_chain():
    """P(T = n) from powers of the transition matrix vs the simulated histogram."""
    S, k, p, n = 6, 2, 0.4, 200_000
    P = transition_matrix(S, p)
    dist = np.zeros(S + 1)
    dist[k] = 1.0
    absorbed = [0.0]
    for _ in range(40):
        dist = dist @ P
        absorbed.append(dist[0] + dist[S])
    pmf = np.diff(absorbed)
    _, duration = simulate_ruin(k, S, p, n, rng=99)
    counts = np.bincount(duration, minlength=41)[1:41] / n
    se = np.sqrt(pmf * (1 - pmf) / n)
    assert (np.abs(counts - pmf) <= 5 * se + 1e-12).all()


# --- bad input ----------------------------------------------------------------------------

@pytest.mark.parametrize("func", [win_probability, expected_duration])
@pytest.mark.parametrize(
    ("k", "S", "p", "name"),
    [
        (3, 10, 1.5, "p"),
        (3, 10, -0.1, "p"),
        (3, 10, float("nan"), "p"),
        (3, 10, "half", "p"),
        (-1, 10, 0.5, "k"),
        (11, 10, 0.5, "k"),
        (2.5, 10, 0.5, "k"),
        (3, 10.5, 0.5, "S"),
        (0, 0, 0.5, "S"),
        (0, -4, 0.5, "S"),
        (1, True, 0.5, "S"),
    ],
)
def test_bad_input_names_the_parameter(func, k, S, p, name):
    with pytest.raises(ValueError, match=rf"^{name} "):
        func(k, S, p)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"n_games": 0}, "n_games"),
        ({"n_games": 2.5}, "n_games"),
        ({"p": 2.0}, "p"),
        ({"k": 11}, "k"),
        ({"S": 0, "k": 0}, "S"),
        ({"rng": "seed"}, "rng"),
    ],
)
def test_simulate_bad_input(kwargs, name):
    args = {"k": 3, "S": 10, "p": 0.5, "n_games": 10} | kwargs
    with pytest.raises(ValueError, match=rf"^{name} "):
        simulate_ruin(**args)


@pytest.mark.parametrize("S", [10**6, 10**8])
@pytest.mark.parametrize("v", [0.99, 1.01, 1.5, 10.0])
def test_duration_accurate_for_huge_S_just_past_the_series_range(S, v):
    """|S log(q/p)| = v near 1 is where the closed form used to cancel (k near S)."""
    p = 1 / (1 + np.exp(v / S))  # so that S * log(q/p) = v exactly enough
    for pp in (p, 1 - p):
        for k in (1, S // 2, S // 2 + 1, S - 1):
            assert expected_duration(k, S, pp) == pytest.approx(float(exact_h(k, S, pp)),
                                                                rel=1e-13)
