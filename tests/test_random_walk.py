"""Tests of sprl.random_walk (section 1.1.2): exact references, generating functions,
Monte Carlo agreement and every bad-input rule."""

from fractions import Fraction
from math import comb

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sprl import random_walk as rw
from sprl.gambling import win_probability


def g_exact(k, p):
    """g(2k) = C(2k, k) (pq)^k / (2k - 1) in exact arithmetic (p a Fraction)."""
    return Fraction(comb(2 * k, k)) * (p * (1 - p)) ** k / (2 * k - 1)


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize("bad", [-0.1, 1.5, np.nan, "x", [0.5, 2.0]])
def test_p_rules(bad):
    for call in (
        lambda: rw.return_probability(bad),
        lambda: rw.escape_probability(1, bad),
        lambda: rw.first_return_pmf(2, bad),
        lambda: rw.return_pmf(2, bad),
        lambda: rw.distribution(3, bad),
        lambda: rw.simulate_walk(3, bad),
        lambda: rw.first_return_generating_function(0.5, bad),
        lambda: rw.return_generating_function(0.5, bad),
    ):
        with pytest.raises(ValueError, match="^p "):
            call()


def test_integer_rules():
    with pytest.raises(ValueError, match="^n must be >= 0"):
        rw.first_return_pmf(-2, 0.5)
    with pytest.raises(ValueError, match="^n must hold integers"):
        rw.first_return_pmf(2.5, 0.5)
    with pytest.raises(ValueError, match="^n must be >= 0"):
        rw.return_pmf([-1], 0.5)
    with pytest.raises(ValueError, match="^k must hold integers"):
        rw.escape_probability(0.5, 0.6)
    with pytest.raises(ValueError, match="^n must be >= 0"):
        rw.distribution(-1, 0.5)
    with pytest.raises(ValueError, match="^n_steps must be >= 0"):
        rw.simulate_walk(-1, 0.5)
    with pytest.raises(ValueError, match="^n_walks must be >= 1"):
        rw.simulate_walk(3, 0.5, n_walks=0)
    with pytest.raises(ValueError, match="^start must be an integer"):
        rw.simulate_walk(3, 0.5, start=0.5)
    with pytest.raises(ValueError, match="^rng"):
        rw.simulate_walk(3, 0.5, rng="x")
    with pytest.raises(ValueError, match="^s must lie in"):
        rw.first_return_generating_function(1.5, 0.5)
    with pytest.raises(ValueError, match="^s must lie in"):
        rw.return_generating_function(np.nan, 0.5)
    with pytest.raises(ValueError, match="^paths must be"):
        rw.first_return_time(np.zeros((2, 3), dtype=float))


# ---------------------------------------------------- return probability


def test_return_probability():
    assert rw.return_probability(0.5) == 1.0
    assert rw.return_probability(0.0) == rw.return_probability(1.0) == 0.0
    assert isinstance(rw.return_probability(0.3), float)
    p = np.array([0.1, 0.3, 0.5 - 1e-12, 0.5 + 1e-12, 0.9])
    np.testing.assert_allclose(rw.return_probability(p), 1 - np.abs(p - (1 - p)), rtol=1e-15)
    # exact at p = 1/2 +- 1e-12: 1 - 2e-12, not rounded to 1
    assert 1 - rw.return_probability(0.5 + 1e-12) == pytest.approx(2e-12, rel=1e-3)


def test_generating_functions():
    s = np.linspace(-1, 1, 41)
    for p in (0.2, 0.45, 0.5 - 1e-9, 0.7):
        H = rw.return_generating_function(s, p)
        G = rw.first_return_generating_function(s, p)
        np.testing.assert_allclose(G, 1 - 1 / H, rtol=1e-13, atol=1e-15)  # H = 1 + G H
        assert rw.first_return_generating_function(1.0, p) == pytest.approx(
            rw.return_probability(p), rel=1e-12)
    assert np.isinf(rw.return_generating_function(1.0, 0.5))
    # the power series of H and G have the pmfs as coefficients (|s| < 1)
    n = np.arange(0, 400)
    for p, s0 in [(0.3, 0.95), (0.5, 0.8)]:
        assert (rw.first_return_pmf(n, p) * s0**n).sum() == pytest.approx(
            rw.first_return_generating_function(s0, p), rel=1e-12)
        assert (rw.return_pmf(n, p) * s0**n).sum() == pytest.approx(
            rw.return_generating_function(s0, p), rel=1e-12)
    # G keeps relative accuracy for tiny 4pq s^2 (no 1 - sqrt(1 - x) cancellation)
    assert rw.first_return_generating_function(1e-9, 0.5) == pytest.approx(1e-18, rel=1e-14)


# --------------------------------------------------- first-return pmf


def test_first_return_pmf_against_fractions():
    p = Fraction(2, 5)
    k = np.arange(1, 151)
    got = rw.first_return_pmf(2 * k, float(p))
    exact = np.array([float(g_exact(int(j), p)) for j in k])
    np.testing.assert_allclose(got, exact, rtol=1e-13)
    np.testing.assert_array_equal(rw.first_return_pmf([0, 1, 3, 101], 0.4), 0.0)
    np.testing.assert_allclose(rw.first_return_pmf([2, 4, 6], 0.5), [0.5, 0.125, 1 / 16])


def test_first_return_pmf_large_n_against_mpmath():
    """n up to 10**4 and beyond without overflow, to float64 accuracy."""
    with mpmath.workdps(50):
        for n in (2 * 29, 2 * 30, 1000, 10**4, 10**6 + 2):
            for p in (0.5, 0.5 + 1e-9, 0.49):
                k = n // 2
                pm = mpmath.mpf(p)
                ref = mpmath.binomial(2 * k, k) * (pm * (1 - pm)) ** k / (2 * k - 1)
                got = rw.first_return_pmf(n, p)
                if ref < 1e-300:
                    assert got == 0.0 or abs(got / float(ref) - 1) < 1e-10
                else:
                    # relative error: a few ulp, plus k * eps from the power (4pq)^k
                    slack = 4e-16 * k * abs(np.log(4 * p * (1 - p)))
                    assert abs(got / float(ref) - 1) < 1e-14 + slack
    assert rw.first_return_pmf(10**4, 0.5) > 0


def _mp_first_return(k, p):
    """g(2k) and h(2k) for the float p, at 60 digits."""
    with mpmath.workdps(60):
        pm = mpmath.mpf(float(p))
        h = mpmath.binomial(2 * k, k) * (pm * (1 - pm)) ** k
        return h / (2 * k - 1), h, abs(float(mpmath.log(4 * pm * (1 - pm))))


@pytest.mark.parametrize("p", [1e-10, 1e-12, 1e-17, 5e-17, 1 - 1e-10, 0.1, 0.2499, 0.7501])
def test_first_return_pmf_near_p_zero_and_one_against_mpmath(p):
    """log(4pq) must not be formed as log1p(-(1 - 2p)**2) far from p = 1/2: that gave g(2)
    with relative errors 8e-8 at p = 1e-10, 2e-5 at 1e-12, 0.11 at 5e-17, and 0.0 at 1e-17."""
    for k in (1, 2, 5, 20):
        g_ref, h_ref, L = _mp_first_return(k, p)
        if g_ref < 1e-300:
            continue
        bound = (4 + 2 * np.log(k + 1) + k * (2 * L + 3)) * 2.2205e-16  # the docstring's bound
        assert abs(rw.first_return_pmf(2 * k, p) / float(g_ref) - 1) < bound
        assert abs(rw.return_pmf(2 * k, p) / float(h_ref) - 1) < bound
    assert rw.first_return_pmf(2, p) > 0.0


def test_first_return_pmf_error_bound_holds_on_a_grid():
    """The relative-error bound of the docstring, on a grid of p and k (60-digit mpmath)."""
    rng = np.random.default_rng(4)
    ps = np.r_[rng.random(12), 0.5 + 1e-3 * rng.standard_normal(4),
               10.0 ** rng.uniform(-200, -1, 4), 0.25, 0.75, 0.5]
    for p in ps:
        for k in (1, 3, 30, 31, 1000, 10**5):
            g_ref, _, L = _mp_first_return(k, p)
            if g_ref < 1e-300:
                continue
            edge = min(p, 1 - p) < 0.25
            bound = (4 + 2 * np.log(k + 1) + k * (2 * L + 3 * edge)) * 2.2205e-16
            assert abs(rw.first_return_pmf(2 * k, p) / float(g_ref) - 1) < bound, (p, k)


def test_renewal_convolution_exact():
    """h(n) = sum_{k} g(n - k) h(k) for n >= 1, exactly over the rationals, and the
    floats of the library equal the exact values."""
    p = Fraction(3, 7)
    N = 40
    h = [Fraction(comb(n, n // 2)) * (p * (1 - p)) ** (n // 2) if n % 2 == 0 else Fraction(0)
         for n in range(N + 1)]
    g = [Fraction(0)] + [g_exact(n // 2, p) if n % 2 == 0 else Fraction(0) for n in range(1, N + 1)]
    for n in range(1, N + 1):
        assert h[n] == sum(g[n - k] * h[k] for k in range(n))
    np.testing.assert_allclose(rw.return_pmf(np.arange(N + 1), float(p)), [float(x) for x in h],
                               rtol=1e-14)
    np.testing.assert_allclose(rw.first_return_pmf(np.arange(N + 1), float(p)),
                               [float(x) for x in g], rtol=1e-14)


@pytest.mark.parametrize("p", [0.3, 0.45, 0.6, 0.5 + 1e-3])
def test_pmf_sums_to_return_probability(p):
    """Partial sums plus a tail bound bracket P(T < inf) = 1 - |p - q|.
    The ratio g(2k+2)/g(2k) = 4pq (2k-1)/(2k+2) < 4pq bounds the tail geometrically."""
    K = 20_000
    g = rw.first_return_pmf(2 * np.arange(1, K + 1), p)
    partial = g.sum()
    four_pq = 4 * p * (1 - p)
    tail = g[-1] * four_pq / (1 - four_pq)
    target = rw.return_probability(p)
    assert partial <= target * (1 + 1e-12)
    assert partial + tail >= target * (1 - 1e-12)


def test_symmetric_walk_partial_sums_identity():
    """For p = 1/2: P(T_0 > 2K) = P(S_{2K} = 0), so sum_{k<=K} g(2k) = 1 - h(2K)."""
    K = np.array([1, 5, 50, 500, 5000])
    cum = np.cumsum(rw.first_return_pmf(2 * np.arange(1, K.max() + 1), 0.5))
    np.testing.assert_allclose(cum[K - 1], 1 - rw.return_pmf(2 * K, 0.5), rtol=1e-12)


# ---------------------------------------------------- escape probability


def test_escape_probability_values_and_mirror():
    assert rw.escape_probability(1, 0.6) == pytest.approx(1 - 0.4 / 0.6, rel=1e-15)
    assert rw.escape_probability(3, 0.75) == pytest.approx(1 - (1 / 3) ** 3, rel=1e-15)
    assert rw.escape_probability(-2, 0.25) == pytest.approx(1 - (1 / 3) ** 2, rel=1e-15)
    assert rw.escape_probability(0, 0.9) == 0.0
    assert rw.escape_probability(5, 0.5) == rw.escape_probability(-5, 0.5) == 0.0
    assert rw.escape_probability(4, 0.3) == 0.0 and rw.escape_probability(-4, 0.7) == 0.0
    assert rw.escape_probability(1, 1.0) == 1.0 and rw.escape_probability(-1, 0.0) == 1.0
    k = np.arange(-30, 31)
    for p in (0.2, 0.5, 0.55, 0.9):
        np.testing.assert_allclose(rw.escape_probability(k, p), rw.escape_probability(-k, 1 - p),
                                   rtol=1e-14, atol=0)
    # the notes' final formula max{0, 1 - (q/p)^k} holds for every k != 0 (for k < 0,
    # (q/p)^k = (p/q)^|k|), although their derivation only covers k > 0
    for p in (0.2, 0.5, 0.55, 0.9):
        for kk in (-7, -1, 1, 7):
            notes = max(0.0, 1 - ((1 - p) / p) ** kk)
            assert rw.escape_probability(kk, p) == pytest.approx(notes, rel=1e-13, abs=1e-300)


def test_escape_is_the_limit_of_the_win_probability():
    for p in (0.55, 0.7, 0.45):
        for k in (1, 3, 10):
            assert win_probability(k, 20_000, p) == pytest.approx(rw.escape_probability(k, p),
                                                                  rel=1e-12, abs=1e-300)


def test_escape_near_one_half_is_accurate():
    with mpmath.workdps(50):
        for p in (0.5 + 1e-12, 0.5 + 1e-7):
            for k in (1, 10**6):
                pm = mpmath.mpf(p)
                ref = 1 - ((1 - pm) / pm) ** k
                assert rw.escape_probability(k, p) == pytest.approx(float(ref), rel=1e-9)


@settings(max_examples=50, deadline=None)
@given(st.integers(-50, 50), st.floats(0, 1))
def test_escape_probability_range(k, p):
    e = rw.escape_probability(k, p)
    assert 0.0 <= e <= 1.0
    if (k > 0 and p <= 0.5) or (k < 0 and p >= 0.5) or k == 0:
        assert e == 0.0


# ------------------------------------------------------ distribution of S_n


def test_distribution_matches_the_notes_formulas_exactly():
    p = Fraction(1, 3)
    q = 1 - p
    for n in (0, 1, 7, 10):
        values, pmf = rw.distribution(n, float(p))
        assert values.tolist() == list(range(-n, n + 1, 2))
        assert pmf.sum() == pytest.approx(1.0, rel=1e-14)
        for v, prob in zip(values, pmf):
            if n % 2 == 0:  # P(S_{2m} = 2k) = C(2m, m+k) p^{m+k} q^{m-k}
                m, k = n // 2, v // 2
                exact = comb(2 * m, m + k) * p ** (m + k) * q ** (m - k)
            else:  # P(S_{2m+1} = 2k+1) = C(2m+1, m+k+1) p^{m+k+1} q^{m-k}
                m, k = n // 2, (v - 1) // 2
                exact = comb(2 * m + 1, m + k + 1) * p ** (m + k + 1) * q ** (m - k)
            assert prob == pytest.approx(float(exact), rel=1e-13)
    values, pmf = rw.distribution(10**5, 0.5)
    assert np.isfinite(pmf).all() and pmf.sum() == pytest.approx(1.0, rel=1e-10)


# -------------------------------------------------------------- simulation


def test_simulate_walk_shape_and_steps():
    paths = rw.simulate_walk(50, 0.3, n_walks=7, rng=1, start=4)
    assert paths.shape == (7, 51) and paths.dtype == np.int64
    assert (paths[:, 0] == 4).all()
    assert set(np.unique(np.diff(paths, axis=1))) <= {-1, 1}
    np.testing.assert_array_equal(paths, rw.simulate_walk(50, 0.3, n_walks=7, rng=1, start=4))
    assert rw.simulate_walk(0, 0.5).shape == (1, 1)
    assert (rw.simulate_walk(5, 1.0)[0] == np.arange(6)).all()


def test_simulated_distribution_of_S_n():
    n, walks = 20, 200_000
    S = rw.simulate_walk(n, 0.6, n_walks=walks, rng=3)[:, -1]
    values, pmf = rw.distribution(n, 0.6)
    freq = np.array([(S == v).mean() for v in values])
    se = np.sqrt(pmf * (1 - pmf) / walks)
    assert (np.abs(freq - pmf) <= 5 * se + 1e-12).all()


@pytest.mark.parametrize("p", [0.5, 0.4])
def test_first_return_pmf_against_simulation(p):
    walks, horizon = 100_000, 60
    T = rw.first_return_time(rw.simulate_walk(horizon, p, n_walks=walks, rng=11))
    n = np.arange(1, horizon + 1)
    freq = np.array([(T == t).mean() for t in n])
    g = rw.first_return_pmf(n, p)
    se = np.sqrt(g * (1 - g) / walks)
    assert (np.abs(freq - g) <= 5 * se + 1e-12).all()
    # no return within the horizon: P(T > 60) = P(T = inf) + tail
    none = (T == -1).mean()
    assert abs(none - (1 - g.sum())) < 5 * np.sqrt(none * (1 - none) / walks)


def test_first_return_time():
    assert rw.first_return_time([0, 1, 0, -1, 0]).tolist() == [2]
    assert rw.first_return_time([[0, 1, 2], [0, -1, 0], [3, 2, 3]]).tolist() == [-1, 2, 2]
