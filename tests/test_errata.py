"""Checks of the corrections in book/errata.md that no chapter cell asserts.

One test per errata entry, named after its section and item.  Each test
asserts the corrected statement against the library or an exact computation,
and asserts that the notes' version gives something different at the same
parameters, so that it fails if the two were swapped.
"""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import sympy as sp

from sprl import branching as br
from sprl import ctmc
from sprl.rl.tabular import TabularMDP, gridworld, policy_gradient, softmax_policy

s = sp.symbols("s")


def _generation_pgfs(pmf, n_max):
    """G_1, ..., G_{n_max} as exact sympy polynomials (G_n = G_{n-1}(G))."""
    G = sum(sp.Rational(p) * s**k for k, p in enumerate(pmf))
    out = [G]
    for _ in range(n_max - 1):
        out.append(sp.expand(out[-1].subs(s, G)))
    return G, out


def _law(poly):
    """Coefficients P(Z_n = k), k = 0, 1, ..., of a pgf polynomial."""
    return sp.Poly(poly, s).all_coeffs()[::-1]


# ---------------------------------------------------------------------- 1.1.4


def test_1_1_4_item_2():
    """Critical case: E Z_n = mu^n = 1 for every n (the notes: mu_n -> infinity)."""
    for pmf in [("1/4", "1/2", "1/4"), ("1/2", "0", "1/2"), ("1/3", "1/3", "1/3")]:
        G, pgfs = _generation_pgfs(pmf, 5)
        assert sp.diff(G, s).subs(s, 1) == 1  # mu = 1
        for n, Gn in enumerate(pgfs, start=1):
            law = _law(Gn)
            mean = sum(k * p for k, p in enumerate(law))
            assert mean == 1, (pmf, n, mean)  # exactly, so it does not grow
            assert sp.diff(Gn, s).subs(s, 1) == 1
        # the library, far out: still 1, not growing
        floats = [float(Fraction(p)) for p in pmf]
        means, _ = br.mean_variance(floats, np.array([1, 10, 100, 1000]))
        assert np.all(means == 1.0)
        # ... and yet extinction is certain: P(Z_n = 0) = G_n(0) increases to 1
        zeros = [Gn.subs(s, 0) for Gn in pgfs]
        assert all(a < b < 1 for a, b in itertools.pairwise(zeros))
        assert br.extinction_probability(floats) == 1.0
    # the exception p_1 = 1: mean 1, never extinct
    assert br.mean_variance([0.0, 1.0], 1000)[0] == 1.0
    assert br.extinction_probability([0.0, 1.0]) == 0.0


def test_1_1_4_item_3():
    """Var Z_n = G_n''(1) + G_n'(1) - G_n'(1)^2, not G_n''(1)/2; the chain rule has G'^2."""
    pmf = ("1/5", "3/10", "1/2")  # mu = 13/10, sigma^2 = 61/100
    G, pgfs = _generation_pgfs(pmf, 5)
    floats = [float(Fraction(p)) for p in pmf]
    for n, Gn in enumerate(pgfs, start=1):
        law = _law(Gn)
        mean = sum(k * p for k, p in enumerate(law))
        var = sum(k**2 * p for k, p in enumerate(law)) - mean**2
        d1 = sp.diff(Gn, s).subs(s, 1)
        d2 = sp.diff(Gn, s, 2).subs(s, 1)
        assert d2 + d1 - d1**2 == var  # the correction, exactly
        assert d2 / 2 != var  # the notes' formula
        assert abs(br.mean_variance(floats, n)[1] / float(var) - 1) < 1e-12
    # the second derivative of G_{n-1}(G(s)): the chain rule squares G'
    G_prev = pgfs[1]  # G_2
    u = sp.symbols("u")
    H = G_prev.subs(s, u)
    left = sp.diff(G_prev.subs(s, G), s, 2)  # (G_2 o G)'' = G_3''
    right = (sp.diff(H, u, 2).subs(u, G) * sp.diff(G, s) ** 2
             + sp.diff(H, u).subs(u, G) * sp.diff(G, s, 2))
    notes = (sp.diff(H, u, 2).subs(u, G) * sp.diff(G, s)
             + sp.diff(H, u).subs(u, G) * sp.diff(G, s, 2))
    assert sp.expand(left - right) == 0
    assert left.subs(s, 1) != notes.subs(s, 1)


def test_1_1_4_item_5():
    """alpha is the smallest root of G(s) = s in [0, 1]; it is 0 when p_0 = 0."""
    # p_0 = 0: the roots are 0 and 1; alpha = 0, the smallest *positive* root is 1
    pmf = ("0", "1/2", "1/2")
    G, pgfs = _generation_pgfs(pmf, 5)
    roots = sorted(r for r in sp.solve(sp.Eq(G, s), s) if 0 <= r <= 1)
    assert roots == [0, 1]
    assert all(Gn.subs(s, 0) == 0 for Gn in pgfs)  # alpha = lim G_n(0) = 0
    floats = [float(Fraction(p)) for p in pmf]
    assert roots[0] == 0 and br.extinction_probability(floats) == 0.0
    assert min(r for r in roots if r > 0) == 1  # the notes' choice
    # G'(0) = p_1 = 0: G is not strictly increasing at 0, alpha is still the
    # smallest root in [0, 1] (here 1/3, mu = 3/2 > 1)
    pmf = ("1/4", "0", "3/4")
    G, _ = _generation_pgfs(pmf, 1)
    assert sp.diff(G, s).subs(s, 0) == 0
    roots = sorted(r for r in sp.solve(sp.Eq(G, s), s) if 0 <= r <= 1)
    assert roots == [sp.Rational(1, 3), 1]
    alpha = br.extinction_probability([float(Fraction(p)) for p in pmf])
    assert abs(alpha - 1 / 3) < 1e-15
    # mu <= 1 with p_1 < 1 gives alpha = 1; mu > 1 gives alpha < 1
    assert br.extinction_probability([0.5, 0.0, 0.5]) == 1.0
    assert br.extinction_probability([0.2, 0.3, 0.5]) < 1.0


# ---------------------------------------------------------------------- 1.1.5


def test_1_1_5_item_1():
    """N_t = sum_k 1{T_k <= t}, which is 0 at t = 0; the notes' sums give N_t + 1."""
    arrivals = ctmc.poisson_process(2.0, 30.0, rng=1)
    T = np.concatenate([[0.0], arrivals, [np.inf]])  # T_0 = 0, ..., T_{N+1} = inf
    t = np.sort(np.concatenate([[0.0], arrivals, np.linspace(0, 30, 301)]))
    k = np.arange(T.size - 1)[:, None]
    correct = (T[1:-1, None] <= t).sum(axis=0)  # sum_{k >= 1} 1{T_k <= t}
    second = (k * ((T[:-1, None] <= t) & (t < T[1:, None]))).sum(axis=0)
    notes_first = ((k + 1) * ((T[:-1, None] <= t) & (t < T[1:, None]))).sum(axis=0)
    notes_second = (T[:-1, None] <= t).sum(axis=0)  # sum_{k >= 1} 1{t >= T_{k-1}}
    library = np.searchsorted(arrivals, t, side="right")  # the library's count
    np.testing.assert_array_equal(correct, library)
    np.testing.assert_array_equal(second, library)
    assert correct[0] == 0  # N_0 = 0
    np.testing.assert_array_equal(notes_first, library + 1)
    np.testing.assert_array_equal(notes_second, library + 1)


# ---------------------------------------------------------------------- 2.3.4


def test_2_3_4_item_1():
    """Shifting every per-step reward by b changes the gradient and the optimal policy."""
    world = gridworld()
    b = 2.0
    nt = ~world.terminal
    shifted = TabularMDP(world.P, world.R_full - b * nt[:, None, None], world.mu0,
                         terminal=np.flatnonzero(world.terminal))
    ones = TabularMDP(world.P, np.ones(world.R.shape), world.mu0,
                      terminal=np.flatnonzero(world.terminal))  # J = E[length]
    rng = np.random.default_rng(0)
    theta = rng.normal(size=(world.n_states, world.n_actions))
    pi = softmax_policy(theta)
    g = policy_gradient(world, theta, 1.0)
    g_len = policy_gradient(ones, theta, 1.0)
    g_shift = policy_gradient(shifted, theta, 1.0)
    # the per-step shift subtracts b times the gradient of the expected length
    assert np.abs(g_shift - (g - b * g_len)).max() < 1e-12
    assert np.abs(g_shift - g).max() > 0.1
    assert abs(shifted.objective(pi, 1.0)
               - (world.objective(pi, 1.0) - b * ones.objective(pi, 1.0))) < 1e-12
    # ... and it changes the optimal policy
    _, best, _ = world.value_iteration(1.0)
    _, best_shift, _ = shifted.value_iteration(1.0)
    assert (best[nt] != best_shift[nt]).any()
    # Subtracting b from the return r(tau) instead leaves the gradient alone.
    # r(tau) - b is the return of a copy of the world whose first step pays
    # R - b: states 0..S-1 are "time 1", S..2S-1 "later", same policy in both.
    S = world.n_states
    P2 = np.zeros((2 * S, world.n_actions, 2 * S))
    P2[:S, :, S:] = world.P  # the first step leads into the "later" copy
    P2[S:, :, S:] = world.P
    term = np.flatnonzero(np.concatenate([world.terminal, world.terminal]))
    P2[term[:, None], :, :] = 0.0
    P2[term, :, term] = 1.0
    R2 = np.zeros_like(P2)
    R2[:S, :, S:] = world.R_full - b
    R2[S:, :, S:] = world.R_full
    once = TabularMDP(P2, R2, np.concatenate([world.mu0, np.zeros(S)]), terminal=term)
    assert abs(once.objective(softmax_policy(np.vstack([theta, theta])), 1.0)
               - (world.objective(pi, 1.0) - b)) < 1e-12
    g2 = policy_gradient(once, np.vstack([theta, theta]), 1.0)
    assert np.abs(g2[:S] + g2[S:] - g).max() < 1e-12  # theta is shared


# ---------------------------------------------------------------------- 2.4.1


def _layered_mdp():
    """States 0 (start), 1, 2 and terminal 3; every episode ends within 3 steps."""
    rng = np.random.default_rng(4)
    S, A = 4, 2
    P = np.zeros((S, A, S))
    P[0, :, 1:] = rng.dirichlet(np.ones(3), size=A)  # 0 -> 1, 2 or end
    P[1, :, 2:] = rng.dirichlet(np.ones(2), size=A)  # 1 -> 2 or end
    P[2, :, 3] = 1.0  # 2 -> end
    P[3, :, 3] = 1.0
    R = rng.uniform(0.5, 2.0, size=(S, A, S))
    mu0 = np.array([1.0, 0.0, 0.0, 0.0])
    pi = rng.dirichlet(np.ones(A), size=S)
    return TabularMDP(P, R, mu0, terminal=[3]), pi


def test_2_4_1_item_1():
    """E[sum_{t' >= t} r_{t'} | s_t, a_t] = Q(s_t, a_t); the full return's mean is not."""
    mdp, pi = _layered_mdp()
    Q = mdp.q_values(pi, 1.0)
    # every episode, by brute force: (probability, states, actions, rewards)
    episodes = []

    def extend(prob, states, actions, rewards):
        s_now = states[-1]
        if mdp.terminal[s_now]:
            episodes.append((prob, states[:-1], actions, rewards))
            return
        for a in range(mdp.n_actions):
            for s_next in range(mdp.n_states):
                p = pi[s_now, a] * mdp.P[s_now, a, s_next]
                if p > 0:
                    extend(prob * p, states + [s_next], actions + [a],
                           rewards + [mdp.R_full[s_now, a, s_next]])

    extend(1.0, [0], [], [])
    assert abs(sum(e[0] for e in episodes) - 1) < 1e-14
    checked = 0
    for t in range(3):  # 0-based time of the conditioning step
        for st in range(mdp.n_states):
            for a in range(mdp.n_actions):
                hits = [e for e in episodes
                        if len(e[1]) > t and e[1][t] == st and e[2][t] == a]
                mass = sum(e[0] for e in hits)
                if mass == 0:
                    continue
                to_go = sum(e[0] * sum(e[3][t:]) for e in hits) / mass
                full = sum(e[0] * sum(e[3]) for e in hits) / mass
                assert abs(to_go - Q[st, a]) < 1e-12, (t, st, a)
                if t > 0:  # rewards before t enter the notes' sum
                    assert full - Q[st, a] > 0.4, (t, st, a)
                checked += 1
    assert checked >= 8
