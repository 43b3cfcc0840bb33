"""Tests of sprl.markov (section 1.1.3): known values, exact references, properties,
Monte Carlo agreement and every bad-input rule."""

from fractions import Fraction

import mpmath
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sprl import markov
from sprl.gambling import transition_matrix, win_probability

# ---------------------------------------------------------------- helpers


def drunkard(n_inner=3):
    """Grinstead & Snell's drunkard's walk on 0..n_inner+1, absorbing at both ends."""
    return transition_matrix(n_inner + 1, 0.5)


LAND_OF_OZ = np.array([[0.5, 0.25, 0.25], [0.5, 0.0, 0.5], [0.25, 0.25, 0.5]])  # rain, nice, snow


def fraction_matrix(P):
    """Exact rationals of a float matrix, with each diagonal 1 - (off-diagonal row sum),
    the chain that GTH elimination solves (floats rows miss 1 by rounding)."""
    n = len(P)
    F = [[Fraction(float(P[i][j])) for j in range(n)] for i in range(n)]
    for i in range(n):
        F[i][i] = 1 - sum(F[i][j] for j in range(n) if j != i)
    return F


def fraction_solve(A, B):
    """Gauss-Jordan elimination over the rationals: A X = B (B a list of columns-rows)."""
    n = len(A)
    M = [list(A[i]) + list(B[i]) for i in range(n)]
    for c in range(n):
        piv = next(r for r in range(c, n) if M[r][c] != 0)
        M[c], M[piv] = M[piv], M[c]
        inv = 1 / M[c][c]
        M[c] = [v * inv for v in M[c]]
        for r in range(n):
            if r != c and M[r][c] != 0:
                f = M[r][c]
                M[r] = [a - f * b for a, b in zip(M[r], M[c])]
    return [row[n:] for row in M]


def kmr(N, p, eps):
    """The KMR (Kandori-Mailath-Rob) birth-death chain of quantecon's GTH tests: its
    stationary distribution spans dozens of orders of magnitude."""
    P = np.zeros((N + 1, N + 1))
    P[0, 0], P[0, 1] = 1 - eps / 2, eps / 2
    for n in range(1, N):
        P[n, n - 1] = (n / N) * (
            eps / 2 + (1 - eps) * (((n - 1) / (N - 1) < p) + ((n - 1) / (N - 1) == p) / 2)
        )
        P[n, n + 1] = ((N - n) / N) * (
            eps / 2 + (1 - eps) * ((n / (N - 1) > p) + (n / (N - 1) == p) / 2)
        )
        P[n, n] = 1 - P[n, n - 1] - P[n, n + 1]
    P[N, N - 1], P[N, N] = eps / 2, 1 - eps / 2
    return P


def birth_death_exact(P):
    """Exact stationary distribution of a birth-death chain by detailed balance."""
    w = [Fraction(1)]
    for i in range(len(P) - 1):
        w.append(w[-1] * Fraction(float(P[i, i + 1])) / Fraction(float(P[i + 1, i])))
    total = sum(w)
    return np.array([float(x / total) for x in w])


def gth_unblocked(P):
    """Textbook GTH (as in quantecon), the reference for large chains."""
    A = np.array(P, dtype=float)
    n = len(A)
    for k in range(n - 1):
        scale = A[k, k + 1 :].sum()
        A[k + 1 :, k] /= scale
        A[k + 1 :, k + 1 :] += np.outer(A[k + 1 :, k], A[k, k + 1 :])
    x = np.zeros(n)
    x[-1] = 1.0
    for k in range(n - 2, -1, -1):
        x[k] = x[k + 1 :] @ A[k + 1 :, k]
    return x / x.sum()


def random_chain(rng, n, zeros=0.0, power=1.0):
    P = rng.random((n, n)) ** power
    P[rng.random((n, n)) < zeros] = 0.0
    P[np.arange(n), rng.integers(0, n, n)] += 0.1  # no empty row
    return P / P.sum(axis=1, keepdims=True)


# ------------------------------------------------------- validate / bad input


def test_validate_accepts_dense_and_sparse():
    P = markov.validate_transition_matrix([[0.5, 0.5], [1, 0]])
    assert isinstance(P, np.ndarray) and P.dtype == float
    S = markov.validate_transition_matrix(sp.csr_matrix([[0.5, 0.5], [1, 0]]))
    assert sp.issparse(S)


@pytest.mark.parametrize(
    "bad, rule",
    [
        ([[0.5, 0.5]], "square"),
        (np.zeros((0, 0)), "square"),
        ([0.5, 0.5], "square"),
        ([[np.nan, 1.0], [0.5, 0.5]], "finite"),
        ([[np.inf, 1.0], [0.5, 0.5]], "finite"),
        ([[1.5, -0.5], [0.5, 0.5]], "negative"),
        ([[0.5, 0.4], [0.5, 0.5]], "sum to 1"),
        ([[0.5, 0.5 + 1e-9], [0.5, 0.5]], "sum to 1"),
        ([["a", "b"], ["c", "d"]], "numbers"),
    ],
)
def test_validate_rejects(bad, rule):
    with pytest.raises(ValueError, match=rule):
        markov.validate_transition_matrix(bad)
    with pytest.raises(ValueError, match="P"):
        markov.stationary_distribution(bad)


@pytest.mark.parametrize(
    "bad, rule",
    [
        ([[1.5, -0.5], [0.5, 0.5]], "negative"),
        ([[0.5, 0.4], [0.5, 0.5]], "sum to 1"),
        ([[np.nan, 1.0], [0.5, 0.5]], "finite"),
    ],
)
def test_validate_rejects_sparse(bad, rule):
    with pytest.raises(ValueError, match=rule):
        markov.validate_transition_matrix(sp.csr_matrix(np.array(bad, dtype=float)))


def test_validate_names_the_parameter():
    with pytest.raises(ValueError, match="^rows of Q must sum"):
        markov.validate_transition_matrix([[0.5, 0.4], [0.5, 0.5]], name="Q")


@pytest.mark.parametrize(
    "absorbing, rule",
    [
        ([1], r"absorbing state 1 has P\[1, 1\] = 0.0"),
        ([0, 5], "absorbing must hold states in 0..4"),
        ([-1], "absorbing must hold states"),
        ([0, 0], "must not repeat"),
        ([], "at least one state"),
        ([0.5], "integers"),
        ([True], "integers"),
        (["a"], "integers"),
    ],
)
def test_absorbing_rules(absorbing, rule):
    P = drunkard()
    for f in (markov.absorption_probabilities, markov.expected_absorption_time,
              markov.fundamental_matrix):
        with pytest.raises(ValueError, match=rule):
            f(P, absorbing)


def test_other_input_rules():
    P = drunkard()
    with pytest.raises(ValueError, match="^reward must be a finite array of length 5"):
        markov.expected_absorption_time(P, [0, 4], reward=[1, 2])
    with pytest.raises(ValueError, match="^reward"):
        markov.expected_absorption_time(P, [0, 4], reward=[1, np.nan, 1, 1, 1])
    with pytest.raises(ValueError, match="^j must be <= 4"):
        markov.expected_return_time(P, 5)
    with pytest.raises(ValueError, match="^x0 must be >= 0"):
        markov.simulate_chain(P, -1, 10)
    with pytest.raises(ValueError, match="^n_steps must be an integer"):
        markov.simulate_chain(P, 0, 1.5)
    with pytest.raises(ValueError, match="^rng"):
        markov.simulate_chain(P, 0, 10, rng="seed")
    with pytest.raises(ValueError, match="^pi0 must be a non-negative vector of length 5"):
        markov.evolve_distribution(P, [1, 0], 3)
    with pytest.raises(ValueError, match="^pi0 must sum to 1"):
        markov.evolve_distribution(P, [0.5, 0, 0, 0, 0], 3)


# --------------------------------------------------------- known values


def test_grinstead_snell_drunkards_walk():
    """Grinstead & Snell, Introduction to Probability, Examples 11.13-11.15 (ch. 11.2)."""
    P = drunkard()
    N = markov.fundamental_matrix(P, [0, 4])
    np.testing.assert_allclose(N, [[1.5, 1, 0.5], [1, 2, 1], [0.5, 1, 1.5]], rtol=1e-15)
    t = markov.expected_absorption_time(P, [0, 4])
    np.testing.assert_allclose(t, [0, 3, 4, 3, 0], rtol=1e-15)
    B = markov.absorption_probabilities(P, [0, 4])
    np.testing.assert_allclose(B, [[1, 0], [0.75, 0.25], [0.5, 0.5], [0.25, 0.75], [0, 1]],
                               rtol=1e-15)
    # column order follows the order given
    np.testing.assert_array_equal(markov.absorption_probabilities(P, [4, 0]), B[:, ::-1])


def test_land_of_oz():
    """Grinstead & Snell's Land of Oz chain: w = (2/5, 1/5, 2/5), mean recurrence times
    (5/2, 5, 5/2) and mean first passage times (Example 11.22 / Table 11.2)."""
    w = markov.stationary_distribution(LAND_OF_OZ)
    np.testing.assert_allclose(w, [0.4, 0.2, 0.4], rtol=1e-15)
    M = np.array([markov.expected_return_time(LAND_OF_OZ, j) for j in range(3)]).T
    expected = [[5 / 2, 4, 10 / 3], [8 / 3, 5, 8 / 3], [10 / 3, 4, 5 / 2]]
    np.testing.assert_allclose(M, expected, rtol=1e-14)
    np.testing.assert_allclose(np.diagonal(M), 1 / w, rtol=1e-14)  # Kac
    np.testing.assert_allclose(markov.hitting_probability(LAND_OF_OZ), np.ones((3, 3)))
    assert np.isinf(markov.expected_visits(LAND_OF_OZ)).all()


def test_gamblers_ruin_tiny_probabilities_keep_relative_accuracy():
    """Against section 1.1.1's closed form: probabilities down to 1e-36 (a dense LU
    solve would only be right to ~1e-16 absolutely here)."""
    S, p = 60, 0.2
    P = transition_matrix(S, p)
    B = markov.absorption_probabilities(P, [0, S])
    k = np.arange(S + 1)
    f = win_probability(k, S, p)
    assert f[1] < 1e-35
    np.testing.assert_allclose(B[:, 1], f, rtol=1e-13)
    np.testing.assert_allclose(B[:, 0], 1 - f, rtol=1e-13)


def test_expected_absorption_time_matches_gamblers_ruin():
    from sprl.gambling import expected_duration

    S = 300  # more than one elimination block
    for p in (0.5, 0.47):
        t = markov.expected_absorption_time(transition_matrix(S, p), [0, S])
        np.testing.assert_allclose(t, expected_duration(np.arange(S + 1), S, p), rtol=1e-10)


# ------------------------------------------------------ stationary (accuracy)


def test_kmr_chain_against_exact_rationals():
    """The design's accuracy target: pi from 1.7e-35 to 0.87, every entry to ~1e-15."""
    P = kmr(27, 1 / 3, 1e-2)
    exact = birth_death_exact(P)
    assert exact.min() < 1e-34 and 0.87 < exact.max() < 0.88
    pi = markov.stationary_distribution(P)
    assert np.max(np.abs(pi / exact - 1)) < 4e-15
    # a plain solve with one equation replaced loses everything below ~1e-16
    A = (np.eye(28) - P).T.copy()
    A[-1] = 1.0
    naive = np.linalg.solve(A, np.r_[np.zeros(27), 1.0])
    assert np.max(np.abs(naive / exact - 1)) > 1.0


def test_large_kmr_chain_against_unblocked_gth_and_exact():
    P = kmr(600, 0.4, 0.3)  # 601 states: five elimination blocks; pi down to 1e-140
    exact = birth_death_exact(P)
    pi = markov.stationary_distribution(P)
    assert exact.min() < 1e-130
    assert np.max(np.abs(pi / exact - 1)) < 2e-14
    assert np.max(np.abs(pi / gth_unblocked(P) - 1)) < 2e-14


def test_dense_chain_spanning_100_orders_against_mpmath():
    """A dense chain (every state reaches every other in one step) whose pi spans
    1e-116..1; reference: a 250-digit mpmath LU solve."""
    rng = np.random.default_rng(5)
    n = 40
    i, j = np.indices((n, n))
    P = np.where(j > i, rng.random((n, n)) * 1e-3 ** (j - i), rng.random((n, n)))
    P /= P.sum(axis=1, keepdims=True)
    pi = markov.stationary_distribution(P)
    with mpmath.workdps(250):
        F = fraction_matrix(P)
        A = mpmath.matrix(n, n)
        for a in range(n):
            for b in range(n):
                A[a, b] = mpmath.mpf(F[b][a].numerator) / F[b][a].denominator - (a == b)
        for b in range(n):
            A[n - 1, b] = 1
        ref = np.array([float(v) for v in mpmath.lu_solve(A, mpmath.matrix([0] * (n - 1) + [1]))])
    assert ref.min() < 1e-110
    assert np.max(np.abs(pi / ref - 1)) < 4e-15


def test_random_chains_against_unblocked_gth():
    rng = np.random.default_rng(11)
    for n in (129, 300):  # block boundary and several blocks
        P = random_chain(rng, n, zeros=0.5, power=8)
        pi = markov.stationary_distribution(P)
        assert np.max(np.abs(pi / gth_unblocked(P) - 1)) < 1e-13


def test_several_recurrent_classes():
    P = np.zeros((6, 6))
    P[0, [1, 2]] = 0.5          # transient
    P[1, 1] = 1.0               # absorbing: a class on its own
    P[2, 3] = P[3, 2] = 1.0     # a periodic class {2, 3}
    P[4, [4, 5]] = [0.25, 0.75]  # class {4, 5}
    P[5, 4] = 1.0
    with pytest.raises(ValueError, match="3 recurrent classes"):
        markov.stationary_distribution(P)
    pis = markov.stationary_distributions(P)
    np.testing.assert_allclose(
        pis,
        [[0, 1, 0, 0, 0, 0], [0, 0, 0.5, 0.5, 0, 0], [0, 0, 0, 0, 4 / 7, 3 / 7]],
        rtol=1e-15,
    )
    classes, closed = markov.communicating_classes(P)
    assert [c.tolist() for c in classes] == [[0], [1], [2, 3], [4, 5]]
    assert closed.tolist() == [False, True, True, True]
    assert [c.tolist() for c in markov.recurrent_classes(P)] == [[1], [2, 3], [4, 5]]
    assert markov.transient_states(P).tolist() == [0]


def test_transient_states_get_zero_mass():
    P = np.array([[0.5, 0.5, 0], [0, 0.5, 0.5], [0, 0.5, 0.5]])
    np.testing.assert_allclose(markov.stationary_distribution(P), [0, 0.5, 0.5])


def test_sparse_input_gives_the_same_answers():
    rng = np.random.default_rng(3)
    P = random_chain(rng, 150, zeros=0.9)
    P[:3] = 0
    P[[0, 1, 2], [0, 1, 2]] = 1.0
    S = sp.csr_matrix(P)
    np.testing.assert_allclose(markov.stationary_distributions(S),
                               markov.stationary_distributions(P), rtol=1e-13)
    np.testing.assert_allclose(markov.absorption_probabilities(S, [0, 1, 2]),
                               markov.absorption_probabilities(P, [0, 1, 2]), rtol=1e-10)
    np.testing.assert_allclose(markov.expected_absorption_time(S, [0, 1, 2]),
                               markov.expected_absorption_time(P, [0, 1, 2]), rtol=1e-10)
    Q = random_chain(rng, 60, zeros=0.8)
    np.testing.assert_allclose(markov.expected_return_time(sp.csr_matrix(Q), 7),
                               markov.expected_return_time(Q, 7), rtol=1e-10)
    np.testing.assert_allclose(markov.hitting_probability(sp.csr_matrix(P)),
                               markov.hitting_probability(P), rtol=1e-12)


def test_sparse_kmr_chain_keeps_entrywise_accuracy():
    """Sparse input used to go through a sparse LU: on the KMR chain as a csr_array,
    expected_return_time raised RuntimeError ("Factor is exactly singular") for
    j = 0..16 and missed Kac's formula by 0.04 at j = 17.  Now it is densified and
    solved by GTH, with the accuracy of dense input."""
    P = kmr(27, 1 / 3, 1e-2)
    S = sp.csr_array(P)
    pi = birth_death_exact(P)
    for j in range(28):
        mu = markov.expected_return_time(S, j)
        assert abs(mu[j] * pi[j] - 1) < 4e-15, j  # Kac: mu_j(j) = 1 / pi_j, pi_j down to 1e-35
        np.testing.assert_allclose(mu, markov.expected_return_time(P, j), rtol=1e-15)
    # absorbing ends: absorption probabilities down to ~1e-35, against exact rationals
    Pa = P.copy()
    Pa[[0, 27]] = 0.0
    Pa[0, 0] = Pa[27, 27] = 1.0
    Sa = sp.csr_array(Pa)
    B = markov.absorption_probabilities(Sa, [0, 27])
    np.testing.assert_array_equal(B, markov.absorption_probabilities(Pa, [0, 27]))
    F = fraction_matrix(Pa)
    A = [[int(i == j) - F[i][j] for j in range(1, 27)] for i in range(1, 27)]
    X = fraction_solve(A, [[F[i][27], Fraction(1)] for i in range(1, 27)])
    exact_win = np.array([float(x[0]) for x in X])
    assert exact_win.min() < 1e-12
    assert np.max(np.abs(B[1:27, 1] / exact_win - 1)) < 1e-14
    t = markov.expected_absorption_time(Sa, [0, 27])
    assert np.max(np.abs(t[1:27] / np.array([float(x[1]) for x in X]) - 1)) < 1e-14
    np.testing.assert_array_equal(markov.fundamental_matrix(Sa, [0, 27]),
                                  markov.fundamental_matrix(Pa, [0, 27]))
    np.testing.assert_allclose(markov.stationary_distribution(S), pi, rtol=4e-15)


def test_large_sparse_systems_raise_valueerror_not_runtimeerror(monkeypatch):
    """Above SPARSE_DENSE_MAX states a sparse system goes to splu; a numerically singular
    factor must surface as a ValueError naming P, never as splu's RuntimeError."""
    monkeypatch.setattr(markov, "SPARSE_DENSE_MAX", 8)
    S = sp.csr_array(kmr(27, 1 / 3, 1e-2))
    with pytest.raises(ValueError, match="^P is sparse.*numerically singular"):
        markov.expected_return_time(S, 0)
    # where splu does succeed it is only backward stable: its error is up to
    # cond(I - Q) eps relative to the largest entry (1.2e-4 here; GTH: 1e-15)
    mu = markov.expected_return_time(S, 27)
    np.testing.assert_allclose(mu, markov.expected_return_time(kmr(27, 1 / 3, 1e-2), 27),
                               rtol=1e-3)


# ---------------------------------------------- exact references (Fractions)


def test_absorbing_chain_against_fractions():
    rng = np.random.default_rng(7)
    n = 7
    P = random_chain(rng, n, zeros=0.3)
    P[[5, 6]] = 0.0
    P[5, 5] = P[6, 6] = 1.0
    F = fraction_matrix(P)
    T = range(5)
    A = [[(i == j) - F[i][j] for j in T] for i in T]
    rhs = [[F[i][5], F[i][6], Fraction(1)] for i in T]
    X = fraction_solve(A, rhs)
    B = markov.absorption_probabilities(P, [5, 6])
    t = markov.expected_absorption_time(P, [5, 6])
    for i in T:
        assert abs(B[i, 0] / float(X[i][0]) - 1) < 1e-14
        assert abs(B[i, 1] / float(X[i][1]) - 1) < 1e-14
        assert abs(t[i] / float(X[i][2]) - 1) < 1e-14
    N = markov.fundamental_matrix(P, [5, 6])
    Nx = fraction_solve(A, [[Fraction(int(i == j)) for j in T] for i in T])
    np.testing.assert_allclose(N, [[float(v) for v in row] for row in Nx], rtol=1e-14)


def test_reward_version_sums_to_T_minus_one():
    """h_A = r + Q h_A is E[sum_{n=0}^{T_A - 1} r(Z_n)]: with r = 1 it is E[T_A]
    (the notes' sum to T_A would give E[T_A] + 1)."""
    P = drunkard()
    r = np.ones(5)
    np.testing.assert_allclose(markov.expected_absorption_time(P, [0, 4], reward=r),
                               markov.expected_absorption_time(P, [0, 4]))
    # reward = indicator of state 2: expected visits to 2 before absorption = N[., 2]
    r2 = np.array([0, 0, 1.0, 0, 0])
    np.testing.assert_allclose(markov.expected_absorption_time(P, [0, 4], reward=r2)[1:4],
                               markov.fundamental_matrix(P, [0, 4])[:, 1])


def test_return_times_and_hitting_against_fractions():
    rng = np.random.default_rng(8)
    n = 6
    P = random_chain(rng, n, zeros=0.4)
    F = fraction_matrix(P)
    for j in range(n):
        # mu_j(i) = 1 + sum_{m != j} P_im mu_j(m): solve over the other states exactly
        others = [m for m in range(n) if m != j]
        A = [[(a == b) - F[a][b] for b in others] for a in others]
        mu = fraction_solve(A, [[Fraction(1)] for _ in others])
        mu_full = dict(zip(others, (row[0] for row in mu)))
        mu_full[j] = 1 + sum(F[j][m] * mu_full[m] for m in others)
        got = markov.expected_return_time(P, j)
        ref = np.array([float(mu_full[i]) for i in range(n)])
        np.testing.assert_allclose(got, ref, rtol=1e-13)
    # irreducible: every p_ij = 1, and Kac: mu_j(j) = 1 / pi_j
    pi = markov.stationary_distribution(P)
    np.testing.assert_allclose([markov.expected_return_time(P, j)[j] for j in range(n)], 1 / pi,
                               rtol=1e-13)
    np.testing.assert_allclose(markov.hitting_probability(P), 1.0, rtol=1e-14)


def transient_example():
    """States 0, 1, 2 transient; {3} absorbing; {4, 5} a closed class."""
    P = np.array([
        [0.2, 0.3, 0.1, 0.4, 0.0, 0.0],
        [0.5, 0.0, 0.25, 0.0, 0.25, 0.0],
        [0.0, 0.6, 0.3, 0.0, 0.0, 0.1],
        [0.0, 0.0, 0.0, 1.0, 0.0, 0.0],
        [0.0, 0.0, 0.0, 0.0, 0.5, 0.5],
        [0.0, 0.0, 0.0, 0.0, 0.9, 0.1],
    ])
    return P


def test_hitting_probability_and_expected_visits_exact():
    P = transient_example()
    F = fraction_matrix(P)
    n, T = 6, [0, 1, 2]
    A = [[(a == b) - F[a][b] for b in T] for a in T]
    N = fraction_solve(A, [[Fraction(int(a == b)) for b in T] for a in T])
    H = markov.hitting_probability(P)
    E = markov.expected_visits(P)
    # transient j: p_ij = N_ij / N_jj (i != j), p_jj = 1 - 1/N_jj; E = p_ij / (1 - p_jj)
    for a, i in enumerate(T):
        for b, j in enumerate(T):
            p = N[a][b] / N[b][b] if i != j else 1 - 1 / N[b][b]
            assert abs(H[i, j] - float(p)) <= 1e-15 * max(1.0, float(p))
            e = p / (1 - (1 - 1 / N[b][b]))
            assert abs(E[i, j] / float(e) - 1) < 1e-14 if e else E[i, j] == 0
            # the corrected identity of the notes: E[R_j | i] = N_ij - 1{i = j}
            assert abs(E[i, j] - float(N[a][b] - (i == j))) < 1e-14
    # recurrent j: p_ij is the probability of entering j's class; E infinite where p_ij > 0
    enter_45 = [float(sum(N[a][b] * (F[T[b]][4] + F[T[b]][5]) for b in range(3))) for a in range(3)]
    np.testing.assert_allclose(H[T][:, [4, 5]], np.repeat(np.array(enter_45)[:, None], 2, 1),
                               rtol=1e-14)
    np.testing.assert_allclose(H[[4, 5]][:, [4, 5]], 1.0)
    assert H[3, 3] == 1.0 and (H[3, [0, 1, 2, 4, 5]] == 0).all()
    assert (H[4:, :4] == 0).all()
    assert np.isinf(E[:3, 3:]).all() and np.isinf(E[4:, 4:]).all()
    assert (E[3:, :3] == 0).all() and (E[4:, 3] == 0).all()
    # E[R_j | i] = sum_n [P^n]_ij for transient j (truncated series, geometric tail)
    Pn, total = np.eye(6), np.zeros((6, 6))
    for _ in range(400):
        Pn = Pn @ P
        total += Pn
    np.testing.assert_allclose(E[:, :3], total[:, :3], rtol=1e-12, atol=1e-300)


def test_notes_identity_with_I_minus_P_fails():
    """(I - P) is singular for every stochastic matrix: the notes' formula has no meaning."""
    P = transient_example()
    assert abs(np.linalg.det(np.eye(6) - P)) < 1e-15
    assert np.linalg.matrix_rank(np.eye(6) - P) < 6


def test_uncertain_absorption():
    P = transient_example()  # from 0, 1, 2 the chain may end in {4, 5} and never hit 3
    t = markov.expected_absorption_time(P, [3])
    assert np.isinf(t[[0, 1, 2, 4, 5]]).all() and t[3] == 0
    with pytest.raises(ValueError, match="not certain from state"):
        markov.expected_absorption_time(P, [3], reward=np.ones(6))
    with pytest.raises(ValueError, match="not certain"):
        markov.fundamental_matrix(P, [3])
    B = markov.absorption_probabilities(P, [3])
    assert (B[4:] == 0).all() and (0 < B[:3, 0]).all() and (B[:3, 0] < 1).all()
    mu = markov.expected_return_time(P, 3)
    assert mu[3] == 1.0  # P_33 = 1: the return takes one step
    assert np.isinf(mu[[0, 1, 2, 4, 5]]).all()
    mu = markov.expected_return_time(P, 0)
    assert np.isinf(mu).all()


def test_expected_return_time_inf_and_self_loop():
    P = np.array([[1.0, 0.0], [0.5, 0.5]])
    np.testing.assert_array_equal(markov.expected_return_time(P, 0), [1.0, 2.0])
    assert np.isinf(markov.expected_return_time(P, 1)).all()


def test_evolve_distribution():
    pis = markov.evolve_distribution(LAND_OF_OZ, [1, 0, 0], 30)
    assert pis.shape == (31, 3)
    np.testing.assert_allclose(pis[1], LAND_OF_OZ[0])
    np.testing.assert_allclose(pis[-1], [0.4, 0.2, 0.4], atol=1e-12)
    np.testing.assert_allclose(markov.evolve_distribution(sp.csr_matrix(LAND_OF_OZ), [1, 0, 0], 30),
                               pis)


# ------------------------------------------------------------ properties


@st.composite
def stochastic_matrices(draw, max_n=12):
    n = draw(st.integers(1, max_n))
    raw = draw(hnp.arrays(float, (n, n), elements=st.floats(0, 1, allow_subnormal=False)))
    zero_mask = draw(hnp.arrays(bool, (n, n)))
    raw = np.where(zero_mask, 0.0, raw)
    raw[np.arange(n), draw(hnp.arrays(np.int64, n, elements=st.integers(0, n - 1)))] += 0.5
    return raw / raw.sum(axis=1, keepdims=True)


@settings(max_examples=60, deadline=None)
@given(stochastic_matrices())
def test_stationary_properties(P):
    pis = markov.stationary_distributions(P)
    n_classes = len(markov.recurrent_classes(P))
    assert pis.shape == (n_classes, len(P))
    assert (pis >= 0).all()
    np.testing.assert_allclose(pis.sum(axis=1), 1.0, rtol=1e-13)
    np.testing.assert_allclose(pis @ P, pis, atol=1e-13)
    transient = markov.transient_states(P)
    assert (pis[:, transient] == 0).all()


def _reachable(P):
    """R[i, j]: j can be reached from i in one or more steps (from the zero pattern)."""
    R = P > 0
    for _ in range(len(P)):
        R = R | ((R.astype(int) @ R.astype(int)) > 0)
    return R


def _solved_or_refused(f, P):
    """f(P), or None where P's probabilities are so small that float64 cannot hold
    the answer -- the documented ValueError, never a silent inf or nan."""
    try:
        return f(P)
    except ValueError as e:
        assert "so small" in str(e), e
        return None


@settings(max_examples=40, deadline=None)
@given(stochastic_matrices(max_n=8))
def test_hitting_and_visits_properties(P):
    n = len(P)
    H = _solved_or_refused(markov.hitting_probability, P)
    if H is None:
        return
    assert ((H >= 0) & (H <= 1 + 1e-12)).all()
    # first-step: p_ij = P_ij + sum_{m != j} P_im p_mj
    for j in range(n):
        rhs = P[:, j] + P[:, np.arange(n) != j] @ H[np.arange(n) != j, j]
        np.testing.assert_allclose(H[:, j], rhs, atol=1e-12)
    E = markov.expected_visits(P)
    reach = _reachable(P)
    transient = np.zeros(n, dtype=bool)
    transient[markov.transient_states(P)] = True
    for i in range(n):
        for j in range(n):
            if not reach[i, j]:
                assert H[i, j] == 0 and E[i, j] == 0
            elif not transient[j]:
                assert np.isinf(E[i, j])
            else:
                # H[i, j] may underflow to 0 (a path of probability 1e-432) while
                # E[i, j] = H[i, j] / (1 - H[j, j]) is still a float
                assert np.isfinite(E[i, j]) and E[i, j] >= H[i, j]
                if 1 - H[j, j] > 1e-6:  # else 1 - p_jj is below float resolution
                    assert np.isclose(E[i, j], H[i, j] / (1 - H[j, j]), rtol=1e-9)


@pytest.mark.parametrize("exit_path", [1, 2])
def test_answers_beyond_float64_are_refused_not_nan(exit_path):
    # found by hypothesis: the transient states are left only along a path of
    # probability eps**3 = 5e-432, so the expected visits (1/5e-432) overflow
    eps = 1.748e-144
    P = np.zeros((8, 8))
    P[[1, 2, 4, 5, 6, 7], 0] = 1.0
    P[3, 3] = 1.0
    P[0, 0 if exit_path == 1 else 6] = 1.0
    P[0, 1] = eps
    P[1, 5] = P[5, 3] = eps
    for f in (markov.hitting_probability, markov.expected_visits):
        with pytest.raises(ValueError, match="so small"):
            f(P)


@settings(max_examples=40, deadline=None)
@given(stochastic_matrices(max_n=8), st.data())
def test_absorption_properties(P, data):
    n = len(P)
    absorbing = sorted(data.draw(st.sets(st.integers(0, n - 1), min_size=1, max_size=n)))
    P = P.copy()
    P[absorbing] = 0.0
    P[absorbing, absorbing] = 1.0
    B = markov.absorption_probabilities(P, absorbing)
    assert B.shape == (n, len(absorbing))
    assert ((B >= 0) & (B <= 1 + 1e-12)).all()
    t = markov.expected_absorption_time(P, absorbing)
    certain = np.isfinite(t)
    np.testing.assert_allclose(B[certain].sum(axis=1), 1.0, rtol=1e-12)
    assert (B[~certain].sum(axis=1) < 1 - 1e-15).all()
    # h = 1 + Q h on the non-absorbing states with finite h
    others = np.setdiff1d(np.arange(n), absorbing)
    fin = others[np.isfinite(t[others])]
    np.testing.assert_allclose(t[fin], 1 + P[np.ix_(fin, fin)] @ t[fin], rtol=1e-9)


# --------------------------------------------------------- simulation


def test_simulate_chain_basics():
    P = np.array([[0.0, 1.0], [1.0, 0.0]])
    np.testing.assert_array_equal(markov.simulate_chain(P, 1, 4, rng=0), [1, 0, 1, 0, 1])
    path = markov.simulate_chain(LAND_OF_OZ, 2, 0)
    assert path.tolist() == [2] and path.dtype == np.int64
    a = markov.simulate_chain(LAND_OF_OZ, 0, 1000, rng=5)
    b = markov.simulate_chain(LAND_OF_OZ, 0, 1000, rng=5)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (1001,)
    # a transition of probability zero is never taken (Land of Oz: nice -> nice)
    assert not ((a[:-1] == 1) & (a[1:] == 1)).any()


def test_simulate_chain_transition_frequencies():
    """Empirical transition frequencies within 5 standard errors of P (fixed seed)."""
    rng = np.random.default_rng(21)
    P = random_chain(rng, 20, zeros=0.5)
    path = markov.simulate_chain(P, 0, 400_000, rng=rng)
    counts = np.zeros((20, 20))
    np.add.at(counts, (path[:-1], path[1:]), 1)
    visits = counts.sum(axis=1, keepdims=True)
    se = np.sqrt(P * (1 - P) / visits)
    assert (np.abs(counts / visits - P) <= 5 * se + 1e-12).all()
    assert (counts[P == 0] == 0).all()


def test_simulate_chain_occupation_matches_stationary():
    """Long-run frequencies vs pi for a 300-state chain, including the refill path."""
    rng = np.random.default_rng(4)
    P = random_chain(rng, 300, zeros=0.9, power=3)
    pi = markov.stationary_distribution(P)
    path = markov.simulate_chain(P, 0, 600_000, rng=rng)
    freq = np.bincount(path, minlength=300) / path.size
    # batch means give the standard error of each frequency
    batches = path[: 600_000].reshape(30, -1)
    means = np.stack([np.bincount(b, minlength=300) / b.size for b in batches])
    se = means.std(axis=0, ddof=1) / np.sqrt(30)
    assert np.all(np.abs(freq - pi) <= 6 * se + 1e-4)
    assert np.abs(freq - pi).sum() < 0.05


def test_simulate_chain_concentrated_and_sparse():
    """A lazy chain that stays on a few states (many refills), from sparse input."""
    n = 500
    P = sp.lil_matrix((n, n))
    for i in range(n):
        P[i, i] = 0.98
        P[i, (i + 1) % 5] = 0.02  # everything drains into the cycle 0..4
    P = P.tocsr()
    path = markov.simulate_chain(P, 200, 50_000, rng=2)
    assert path[0] == 200 and path.size == 50_001
    assert set(np.unique(path)) <= {0, 1, 2, 3, 4, 200}
    stay = (path[1:] == path[:-1]).mean()
    assert abs(stay - 0.98) < 5 * np.sqrt(0.98 * 0.02 / 50_000)


def test_simulated_absorption_matches():
    P = drunkard()
    rng = np.random.default_rng(9)
    hits = [markov.simulate_chain(P, 1, 200, rng=rng)[-1] for _ in range(4000)]
    frac = np.mean(np.array(hits) == 4)
    assert abs(frac - 0.25) < 5 * np.sqrt(0.25 * 0.75 / 4000)
