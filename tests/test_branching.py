"""Tests for sprl.branching (book section 1.1.4)."""

from __future__ import annotations

import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special, stats

from sprl import branching as br

mpmath.mp.dps = 50

# ------------------------------------------------------------------ exact references


def _compose_exact(pmf, n):
    """Exact law of X_n (list of Fractions) by composing G n times (polynomials)."""
    p = [Fraction(x) for x in pmf]
    law = [Fraction(0), Fraction(1)]  # X_0 = 1: G_0(s) = s
    for _ in range(n):
        # G_n = G_{n-1}(G): sum_k law[k] G^k, with G^k as exact convolution powers.
        out = [Fraction(0)]
        power = [Fraction(1)]
        for coef in law:
            if coef:
                if len(out) < len(power):
                    out += [Fraction(0)] * (len(power) - len(out))
                for i, c in enumerate(power):
                    out[i] += coef * c
            power = [sum(power[j] * p[i - j] for j in range(len(power)) if 0 <= i - j < len(p))
                     for i in range(len(power) + len(p) - 1)]
        law = out
    return law


def _mp_pmf(pmf):
    """The float pmf as exact mpmath numbers, normalised (as the module does)."""
    p = [mpmath.mpf(float(x)) for x in pmf]
    total = mpmath.fsum(p)
    return [x / total for x in p]


def _mp_poisson_alpha(lam):
    lam = mpmath.mpf(lam)
    return -mpmath.lambertw(-lam * mpmath.exp(-lam)) / lam


# ------------------------------------------------------------------- known values


def test_pgf_known_values():
    s = np.array([-1.0, 0.0, 0.5, 1.0])
    np.testing.assert_allclose(br.pgf([0.25, 0.5, 0.25], s), ((1 + s) / 2) ** 2, rtol=0, atol=1e-16)
    assert br.pgf([0.3, 0.7], 1.0) == 1.0
    assert isinstance(br.pgf([0.3, 0.7], 0.5), float)


def test_generation_pgf_geometric_closed_form():
    # Critical geometric law G(s) = 1/(2 - s): G_n(s) = (n - (n-1)s)/(n + 1 - n s).
    pmf = br.geometric_pmf(0.5)
    s = np.linspace(0, 1, 11)
    for n in (0, 1, 2, 7, 30):
        expected = (n - (n - 1) * s) / (n + 1 - n * s)
        np.testing.assert_allclose(br.generation_pgf(pmf, n, s), expected, rtol=1e-14, atol=0)


def test_generation_pgf_matches_exact_convolution_powers():
    pmf = [0.25, 0.25, 0.5]
    for n in range(5):
        law = _compose_exact(pmf, n)
        for s in (Fraction(0), Fraction(1, 3), Fraction(-1, 2), Fraction(1)):
            exact = sum(c * s**k for k, c in enumerate(law))
            assert br.generation_pgf(pmf, n, float(s)) == pytest.approx(float(exact), rel=1e-15,
                                                                        abs=1e-16)
        # G_{n+1} = G_n o G = G o G_n
        s = np.linspace(-1, 1, 9)
        np.testing.assert_allclose(br.generation_pgf(pmf, n + 1, s),
                                   br.generation_pgf(pmf, n, br.pgf(pmf, s)), rtol=1e-15)
        np.testing.assert_allclose(br.generation_pgf(pmf, n + 1, s),
                                   br.pgf(pmf, br.generation_pgf(pmf, n, s)), rtol=1e-15)


def test_mean_variance_matches_exact_law():
    pmf = [0.25, 0.25, 0.5]  # mu = 5/4, sigma^2 = 11/16
    for n in range(6):
        law = _compose_exact(pmf, n)
        mean = sum(k * c for k, c in enumerate(law))
        var = sum(k * k * c for k, c in enumerate(law)) - mean**2
        m, v = br.mean_variance(pmf, n)
        assert m == pytest.approx(float(mean), rel=1e-15)
        assert v == pytest.approx(float(var), rel=1e-14, abs=0)
        # Var X_n = G_n''(1) + G_n'(1) - G_n'(1)^2, not G_n''(1)/2 (erratum)
        g2 = sum(k * (k - 1) * c for k, c in enumerate(law))
        assert var == g2 + mean - mean**2
        if n >= 2:
            assert var != g2 / 2


def test_variance_recursion_and_critical_case():
    pmf = br.poisson_pmf(1.7)
    mu, s2 = br.mean_variance(pmf, 1)
    n = np.arange(1, 40)
    m, v = br.mean_variance(pmf, n)
    m0, v0 = br.mean_variance(pmf, n - 1)
    np.testing.assert_allclose(v, mu**2 * v0 + mu ** (n - 1) * s2, rtol=1e-13)
    np.testing.assert_allclose(m, mu**n, rtol=1e-13)
    # critical: mean stays 1 (it does not tend to infinity), variance n sigma^2
    m, v = br.mean_variance([0.25, 0.5, 0.25], n)
    assert (m == 1.0).all()
    np.testing.assert_allclose(v, 0.5 * n, rtol=1e-15)


@pytest.mark.parametrize("delta", [1e-12, -1e-12, 1e-9, -3e-7, 1e-4, 0.0])
def test_mean_variance_accurate_near_mu_one(delta):
    pmf = np.array([0.25 - delta / 2, 0.5, 0.25 + delta / 2])
    p = _mp_pmf(pmf)
    mu = mpmath.fsum(k * x for k, x in enumerate(p))
    s2 = mpmath.fsum((k - mu) ** 2 * x for k, x in enumerate(p))
    for n in (1, 2, 10, 100, 1000):
        m, v = br.mean_variance(pmf, n)
        exact_v = n * s2 if mu == 1 else s2 * mu ** (n - 1) * (1 - mu**n) / (1 - mu)
        assert m == pytest.approx(float(mu**n), rel=1e-14)
        assert v == pytest.approx(float(exact_v), rel=1e-13)


def test_mean_variance_edges():
    assert br.mean_variance([1.0], 0) == (1.0, 0.0)
    assert br.mean_variance([1.0], 3) == (0.0, 0.0)
    assert br.mean_variance([0.0, 0.0, 1.0], 10) == (1024.0, 0.0)  # two children always
    m, v = br.mean_variance(br.poisson_pmf(3.0), 2000)  # overflows honestly, no nan
    assert m == math.inf and v == math.inf
    m, v = br.mean_variance(br.poisson_pmf(0.5), 2000)
    assert m == 0.0 and v == 0.0


# ------------------------------------------------------------------------ extinction


@pytest.mark.parametrize("lam", [1.05, 1.2, 1.5, 2.0, 3.0, 5.0, 10.0])
def test_poisson_extinction_lambert_w(lam):
    alpha = br.extinction_probability(br.poisson_pmf(lam))
    exact = _mp_poisson_alpha(lam)
    assert alpha == pytest.approx(float(exact), rel=2e-15)
    w = special.lambertw(-lam * np.exp(-lam)).real  # scipy's closed form, less precise
    assert alpha == pytest.approx(-w / lam, rel=1e-12)


def test_poisson_extinction_literature_values():
    # alpha = exp(lam (alpha - 1)); e.g. lam = 2: 0.2031878699799799...
    assert br.extinction_probability(br.poisson_pmf(2.0)) == pytest.approx(0.20318786997997997,
                                                                           rel=1e-15)
    assert br.extinction_probability(br.poisson_pmf(1.5)) == pytest.approx(0.41718835613418836,
                                                                           rel=1e-15)


def test_extinction_near_critical_and_tiny():
    for lam in (1 + 1e-6, 1 + 1e-3):
        alpha = br.extinction_probability(br.poisson_pmf(lam))
        assert abs(alpha - float(_mp_poisson_alpha(lam))) < 4e-16
    # alpha ~ e^{-100}: relative accuracy limited only by the pmf's own rounding.
    alpha = br.extinction_probability(br.poisson_pmf(100.0))
    assert alpha == pytest.approx(float(_mp_poisson_alpha(100)), rel=1e-12)


def _mp_alpha(pmf):
    """Smallest root of G(s) = s in [0, 1] for the normalised float law, by bisection on
    T(s) - 1 (T the tail generating function) at 50 digits; 1 if mu <= 1."""
    p = _mp_pmf(pmf)
    tails = [mpmath.fsum(p[j + 1:]) for j in range(len(p) - 1)]
    if p[0] == 0:
        return mpmath.mpf(0)
    if mpmath.fsum(t for t in tails) <= 1:  # T(1) = mu
        return mpmath.mpf(1)
    lo, hi = mpmath.mpf(0), mpmath.mpf(1)  # T(lo) < 1 <= T(hi)
    for _ in range(180):
        mid = (lo + hi) / 2
        if mpmath.fsum(t * mid**j for j, t in enumerate(tails)) < 1:
            lo = mid
        else:
            hi = mid
    return lo


def test_extinction_supercritical_with_tiny_variance():
    """mu - 1 = 8e-16 looks critical, but sigma^2 = 2e-10 makes 1 - alpha = 8e-6
    (1 - alpha ~ 2 (mu - 1) / sigma^2).  The old rule "mean within 4 ulps of 1 is
    critical" returned 1.0 here."""
    a = 1e-10
    b = a + 8e-16
    pmf = [a, 1 - a - b, b]
    # exact: G(s) = s has the roots 1 and p0/p2 (the normalisation cancels)
    exact = Fraction(a) / Fraction(b)
    assert 1 - float(exact) == pytest.approx(8.0e-6, rel=1e-4)
    alpha = br.extinction_probability(pmf)
    assert abs(Fraction(alpha) - exact) < Fraction(2**-53)  # within half an ulp below 1
    assert abs(alpha - float(_mp_alpha(pmf))) < 1.2e-16
    # more laws just above criticality, with small and with ordinary variances
    for pmf in (
        [1e-9, 1 - 2e-9 - 5e-16, 0.0, 1e-9 / 2 + 5e-16 / 2, 0.0],
        [1e-12, 1 - 2e-12 - 4e-17, 1e-12 + 4e-17],  # mu - 1 = 4e-17, 1 - alpha = 4e-5
        [0.25 - 1e-12, 0.5, 0.25 + 1e-12],
        br.poisson_pmf(1 + 1e-9),
    ):
        pmf = np.array(pmf) / math.fsum(pmf)
        ref = _mp_alpha(pmf)
        alpha = br.extinction_probability(pmf)
        assert 0.999 < alpha < 1.0
        assert abs(alpha - float(ref)) < 2.3e-16, (pmf, alpha, float(ref))
        # 1 - alpha to a small relative error, up to the rounding of alpha itself
        assert abs((1 - alpha) / float(1 - ref) - 1) < 1.2e-16 / float(1 - ref) + 1e-13


@pytest.mark.parametrize(
    "pmf",
    [
        [0.25, 0.5, 0.25],  # critical
        [1.0],  # nobody has children
        [0.5, 0.5],
        br.poisson_pmf(1.0),
        br.poisson_pmf(0.3),
        br.geometric_pmf(0.5),  # critical geometric
        br.geometric_pmf(0.8),
        br.binomial_pmf(4, 0.25),  # critical binomial
        [0.5, 0.5 - 1e-13, 0.0, 0.0, 0.0, 1e-13],  # subcritical with a thin tail
        [0.25 + 1e-15, 0.5, 0.25 - 1e-15],  # just below critical
    ],
)
def test_extinction_is_exactly_one_when_mu_at_most_one(pmf):
    assert br.extinction_probability(pmf) == 1.0


@pytest.mark.parametrize("pmf", [[0.0, 1.0], [0.0, 0.5, 0.5], [0.0, 0.0, 1.0]])
def test_extinction_is_zero_without_childless_individuals(pmf):
    assert br.extinction_probability(pmf) == 0.0


@pytest.mark.parametrize("p", [0.05, 0.2, 0.3, 0.45, 0.4999])
def test_geometric_extinction_closed_form(p):
    assert br.extinction_probability(br.geometric_pmf(p)) == pytest.approx(p / (1 - p), rel=2e-15)


def test_quadratic_offspring_exact_root():
    # G(s) = 1/4 + s/4 + s^2/2 = s has roots 1/2 and 1.
    assert br.extinction_probability([0.25, 0.25, 0.5]) == 0.5


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=2, max_size=8).filter(lambda w: sum(w) > 0.1))
def test_extinction_is_smallest_fixed_point(weights):
    pmf = np.array(weights) / sum(weights)
    alpha = br.extinction_probability(pmf)
    assert 0.0 <= alpha <= 1.0
    assert abs(br.pgf(pmf, alpha) - alpha) <= 1e-14
    # smaller than every other fixed point in [0, 1]: no sign change of G(s) - s below it
    s = np.linspace(0, alpha, 50)[:-1]
    assert (br.pgf(pmf, s) - s >= -1e-15).all()
    # and the limit of G_n(0)
    assert br.generation_pgf(pmf, 400, 0.0) <= alpha + 1e-15
    mu = br.mean_variance(pmf, 1)[0]
    if mu > 1.05 and pmf[0] > 0:
        assert br.generation_pgf(pmf, 3000, 0.0) == pytest.approx(alpha, rel=1e-12, abs=1e-300)


# --------------------------------------------------------------- time to extinction


def test_extinction_time_pmf_small_cases():
    np.testing.assert_allclose(br.extinction_time_pmf([0.5, 0.5], 4),
                               [0, 0.5, 0.25, 0.125, 0.0625], rtol=5e-16, atol=0)
    assert br.extinction_time_pmf([0.5, 0.5], 0).tolist() == [0.0]
    assert (br.extinction_time_pmf([0.0, 0.3, 0.7], 10) == 0).all()
    pmf = [0.25, 0.25, 0.5]
    assert br.generation_pgf(pmf, 0, 0.0) == 0.0  # G_0(s) = s
    a = np.array([br.generation_pgf(pmf, n, 0.0) for n in range(21)])
    np.testing.assert_allclose(br.extinction_time_pmf(pmf, 20)[1:], np.diff(a), rtol=1e-13)
    assert br.extinction_time_pmf(pmf, 400).sum() == pytest.approx(0.5, rel=1e-14)


@pytest.mark.parametrize("pmf", [[0.5, 0.3, 0.2], [0.25, 0.5, 0.25], [0.1, 0.2, 0.3, 0.4]])
def test_extinction_time_pmf_tail_is_accurate(pmf):
    n_max = 300
    out = br.extinction_time_pmf(pmf, n_max)
    p = _mp_pmf(pmf)
    mpmath.mp.dps = 400  # the differences fall to 1e-300 while a_n stays near alpha
    try:
        a_prev, a = mpmath.mpf(0), p[0]
        ref = [mpmath.mpf(0), p[0]]
        for _ in range(2, n_max + 1):
            a_prev, a = a, mpmath.fsum(c * a**k for k, c in enumerate(p))
            ref.append(a - a_prev)
    finally:
        mpmath.mp.dps = 50
    ref = np.array([float(x) for x in ref])
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=0)
    assert out[-1] > 0


def test_survival_probability():
    n = np.arange(0, 1001, 100)
    np.testing.assert_allclose(br.survival_probability([0.5, 0.5], n), 0.5**n, rtol=1e-15)
    pmf = [0.5, 0.3, 0.2]  # subcritical, mu = 0.7
    p = _mp_pmf(pmf)
    a = mpmath.mpf(0)
    for _ in range(200):
        a = mpmath.fsum(c * a**k for k, c in enumerate(p))
    assert br.survival_probability(pmf, 200) == pytest.approx(float(1 - a), rel=1e-12)
    assert br.survival_probability(pmf, 3) == pytest.approx(1 - br.generation_pgf(pmf, 3, 0.0))


# ------------------------------------------------------------------------ simulation


def test_simulation_matches_theory():
    pmf = br.poisson_pmf(1.5)
    n_runs, n_gen = 20_000, 12
    X = br.simulate_branching(pmf, n_gen, n_runs, rng=2024)
    assert X.shape == (n_runs, n_gen + 1) and (X[:, 0] == 1).all()
    assert (X == np.round(X)).all() and (X >= 0).all()
    # extinct by generation n: P(X_n = 0) = G_n(0); 5 standard errors
    for n in (1, 3, 12):
        prob = br.generation_pgf(pmf, n, 0.0)
        se = math.sqrt(prob * (1 - prob) / n_runs)
        assert abs((X[:, n] == 0).mean() - prob) < 5 * se
    # mean and variance of X_n
    for n in (1, 4, 8):
        m, v = br.mean_variance(pmf, n)
        assert abs(X[:, n].mean() - m) < 5 * math.sqrt(v / n_runs)
    # law of X_2 against the exact composition G(G(s)), entry by entry
    law = np.array([float(x) for x in _compose_exact([0.2, 0.3, 0.5], 2)])
    X2 = br.simulate_branching([0.2, 0.3, 0.5], 2, n_runs, rng=7)[:, 2].astype(int)
    freq = np.bincount(X2, minlength=law.size) / n_runs
    se = np.sqrt(law * (1 - law) / n_runs)
    assert (np.abs(freq[: law.size] - law) <= 5 * se + 1e-12).all()


def test_simulation_extinction_frequency_and_seed():
    pmf = [0.25, 0.25, 0.5]
    X = br.simulate_branching(pmf, 40, 10_000, rng=1)
    se = math.sqrt(0.25 / 10_000)
    assert abs((X[:, -1] == 0).mean() - br.generation_pgf(pmf, 40, 0.0)) < 5 * se
    np.testing.assert_array_equal(X, br.simulate_branching(pmf, 40, 10_000, rng=1))


def test_simulation_cap_against_blow_up():
    pmf = br.poisson_pmf(4.0)
    X = br.simulate_branching(pmf, 60, 50, rng=3, max_population=10**6)
    assert np.isfinite(X).all()
    big = X[:, 30] > 10**6
    assert big.any()
    # above the cap a run grows by its mean
    rows = np.flatnonzero(X[:, -2] > 10**6)
    np.testing.assert_allclose(X[rows, -1], 4.0 * X[rows, -2], rtol=1e-12)
    X = br.simulate_branching(pmf, 600, 5, rng=3)  # 4**600 overflows: inf, never nan
    assert not np.isnan(X).any()


def test_simulation_degenerate_laws():
    assert (br.simulate_branching([1.0], 5, 3, rng=0)[:, 1:] == 0).all()
    assert (br.simulate_branching([0.0, 1.0], 5, 3, rng=0) == 1).all()


# ------------------------------------------------------------------------ builders


def test_offspring_builders():
    p = br.poisson_pmf(2.5)
    assert p.sum() == pytest.approx(1.0, abs=1e-15)
    np.testing.assert_allclose(p[:20], stats.poisson.pmf(np.arange(20), 2.5), rtol=1e-13)
    assert br.poisson_pmf(2.5, kmax=3)[-1] == pytest.approx(stats.poisson.sf(2, 2.5))
    assert br.poisson_pmf(0.0).tolist() == [1.0]
    g = br.geometric_pmf(0.25)
    np.testing.assert_allclose(g[:10], 0.25 * 0.75 ** np.arange(10), rtol=1e-15)
    assert g.sum() == pytest.approx(1.0, abs=1e-15)
    assert br.mean_variance(g, 1)[0] == pytest.approx(3.0, rel=1e-14)
    assert br.geometric_pmf(1.0).tolist() == [1.0]
    np.testing.assert_allclose(br.binomial_pmf(2, 0.5), [0.25, 0.5, 0.25])


# ------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    "pmf, match",
    [
        ([0.5, -0.1, 0.6], "negative"),
        ([0.5, 0.4], "sum to 1"),
        ([0.5, 0.5 + 1e-11], "sum to 1"),
        ([0.5, np.nan, 0.5], "finite"),
        ([0.5, np.inf], "finite"),
        ([], "non-empty"),
        ([[0.5, 0.5]], "1-D"),
        ("abc", "pmf"),
    ],
)
def test_bad_pmf(pmf, match):
    for call in (
        lambda: br.pgf(pmf, 0.5),
        lambda: br.generation_pgf(pmf, 2, 0.5),
        lambda: br.mean_variance(pmf, 2),
        lambda: br.extinction_probability(pmf),
        lambda: br.extinction_time_pmf(pmf, 3),
        lambda: br.survival_probability(pmf, 3),
        lambda: br.simulate_branching(pmf, 3, 3, rng=0),
    ):
        with pytest.raises(ValueError, match="pmf") as info:
            call()
        assert match in str(info.value)


def test_pmf_within_tolerance_is_accepted():
    assert br.extinction_probability([0.5, 0.5 + 1e-13]) == 1.0


@pytest.mark.parametrize("n", [-1, 1.5, np.nan, "2", True])
def test_bad_generation(n):
    with pytest.raises(ValueError, match="n"):
        br.generation_pgf([0.5, 0.5], n, 0.5)
    with pytest.raises(ValueError, match="n"):
        br.mean_variance([0.5, 0.5], n)


def test_bad_other_arguments():
    with pytest.raises(ValueError, match="s must lie in"):
        br.pgf([0.5, 0.5], 1.5)
    with pytest.raises(ValueError, match="s must lie in"):
        br.generation_pgf([0.5, 0.5], 2, np.nan)
    with pytest.raises(ValueError, match="n_max"):
        br.extinction_time_pmf([0.5, 0.5], -1)
    with pytest.raises(ValueError, match="n_runs"):
        br.simulate_branching([0.5, 0.5], 3, 0)
    with pytest.raises(ValueError, match="n_generations"):
        br.simulate_branching([0.5, 0.5], -2, 3)
    with pytest.raises(ValueError, match="max_population"):
        br.simulate_branching([0.5, 0.5], 2, 3, max_population=0)
    with pytest.raises(ValueError, match="rng"):
        br.simulate_branching([0.5, 0.5], 2, 3, rng="seed")
    with pytest.raises(ValueError, match="lam"):
        br.poisson_pmf(-1.0)
    with pytest.raises(ValueError, match="lam"):
        br.poisson_pmf(np.nan)
    with pytest.raises(ValueError, match="p must lie"):
        br.geometric_pmf(0.0)
    with pytest.raises(ValueError, match="p must lie"):
        br.geometric_pmf(1.5)
    with pytest.raises(ValueError, match="p"):
        br.binomial_pmf(3, -0.1)
