"""Tests of section 2.5: k-step advantages and the exact moments of GAE.

k-step estimators against the return form computed by a naive loop; GAE against the
exponential average of the k-step estimators (finite rollouts and episode ends
included); the exact moments against brute-force enumeration of every trajectory of a
small acyclic MDP and against a power series on the (cyclic) grid world.

Mutations applied by hand (2026-12-04), each failing at least one test here (the tests
of test_rl_returns.py ran with them): n_step_advantages summing k + 1 terms; its
episode-end mask read one step late; gamma dropped from its weights; exact_gae_moments
with c = lambda instead of gamma lambda; W solved with c instead of c^2; the cross term
2 c delta M without its 2; c dropped from the mean m = E[delta] + c P M; c^2 dropped
from the second moment; gamma dropped from delta; V not set to 0 on terminal states; the
n-step episode-end mask read at t instead of t + l; the bias's sign; the variance as
E[A^2] without - mean^2; M solved with gamma instead of gamma lambda.  All were caught
by the tests as they stood.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sprl.rl.returns import exact_gae_moments, gae, n_step_advantages
from sprl.rl.tabular import TabularMDP, gridworld, softmax_policy

finite = st.floats(-100, 100, allow_nan=False, allow_infinity=False)
unit = st.floats(0.0, 1.0)


def naive_n_step(r, v, last, gamma, k, dones):
    """sum_{l<k} gamma^l r_{t+l} + gamma^k V(s_{t+k}) - V(s_t), cut at dones and at T."""
    T = len(r)
    out = np.zeros(T)
    for t in range(T):
        total, ended, l = 0.0, False, 0
        while l < k and t + l < T:
            total += gamma**l * r[t + l]
            if dones[t + l]:
                ended = True
                break
            l += 1
        if not ended:  # bootstrap from the state reached after l rewards
            nxt = last if t + l == T else v[t + l]
            total += gamma**l * nxt
        out[t] = total - v[t]
    return out


def steps_left(dones, T):
    """n_t: rewards available from step t (to the end of the episode or of the rollout)."""
    n = np.zeros(T, dtype=int)
    for t in range(T):
        m = 1
        while t + m - 1 < T - 1 and not dones[t + m - 1]:
            m += 1
        n[t] = m
    return n


rollouts = st.integers(1, 15).flatmap(lambda T: st.tuples(
    arrays(float, T, elements=finite), arrays(float, T, elements=finite),
    finite, unit, arrays(bool, T)))


@settings(max_examples=60, deadline=None)
@given(rollouts, st.integers(1, 20))
def test_n_step_matches_return_form(args, k):
    r, v, last, gamma, dones = args
    np.testing.assert_allclose(n_step_advantages(r, v, last, gamma, k, dones),
                               naive_n_step(r, v, last, gamma, k, dones), rtol=1e-9, atol=1e-7)
    none = np.zeros_like(dones)
    np.testing.assert_allclose(n_step_advantages(r, v, last, gamma, k),
                               naive_n_step(r, v, last, gamma, k, none), rtol=1e-9, atol=1e-7)


@settings(max_examples=60, deadline=None)
@given(rollouts, unit)
def test_gae_is_the_exponential_average_of_k_step_estimators(args, lam):
    # A_t^GAE = (1 - lam) sum_{k=1}^{n-1} lam^{k-1} A_t^(k) + lam^{n-1} A_t^(n), n = n_t
    r, v, last, gamma, dones = args
    T = len(r)
    n = steps_left(dones, T)
    ks = {k: n_step_advantages(r, v, last, gamma, k, dones) for k in range(1, T + 1)}
    mix = np.zeros(T)
    for t in range(T):
        mix[t] = sum((1 - lam) * lam ** (k - 1) * ks[k][t] for k in range(1, n[t]))
        mix[t] += lam ** (n[t] - 1) * ks[n[t]][t]
    np.testing.assert_allclose(gae(r, v, last, gamma, lam, dones), mix, rtol=1e-8, atol=1e-7)


def test_k_step_special_cases():
    rng = np.random.default_rng(0)
    r, v = rng.normal(size=(9, 3)), rng.normal(size=(9, 3))
    last, dones = rng.normal(size=3), rng.random((9, 3)) < 0.2
    for gamma in (0.0, 0.7, 1.0):
        np.testing.assert_allclose(n_step_advantages(r, v, last, gamma, 1, dones),
                                   gae(r, v, last, gamma, 0.0, dones), atol=1e-12)
        for k in (9, 10, 1000):  # k >= T: everything up to the end, lam = 1
            np.testing.assert_allclose(n_step_advantages(r, v, last, gamma, k, dones),
                                       gae(r, v, last, gamma, 1.0, dones), atol=1e-12)
    # exact values: r = 1, V = 0, last value 5, gamma = 1, k = 2
    np.testing.assert_array_equal(n_step_advantages([1.0, 1.0, 1.0], [0.0] * 3, 5.0, 1.0, 2),
                                  [2.0, 7.0, 6.0])
    np.testing.assert_array_equal(
        n_step_advantages([1.0, 1.0, 1.0], [0.0] * 3, 5.0, 1.0, 2, dones=[True, False, False]),
        [1.0, 7.0, 6.0])


# ------------------------------------------------------------------ exact moments
def layered_mdp(seed, S=5, A=2):
    """A random MDP whose transitions only go to higher states; state S-1 is terminal."""
    rng = np.random.default_rng(seed)
    P = np.zeros((S, A, S))
    for s in range(S - 1):
        for a in range(A):
            P[s, a, s + 1:] = rng.dirichlet(np.ones(S - 1 - s))
    P[S - 1, :, S - 1] = 1.0
    R = rng.normal(size=(S, A, S))
    return TabularMDP(P, R, np.eye(S)[0], terminal=[S - 1])


def enumerate_gae(mdp, pi, V, gamma, lam, s, a):
    """Every trajectory from (s, a): exact mean and variance of sum_l (gamma lam)^l delta_l."""
    outcomes = []  # (probability, estimate)

    def walk(s, a, prob, acc, weight):
        for s2 in np.flatnonzero(mdp.P[s, a] > 0):
            p = prob * mdp.P[s, a, s2]
            v2 = 0.0 if mdp.terminal[s2] else V[s2]
            total = acc + weight * (mdp.R_full[s, a, s2] + gamma * v2 - V[s])
            if mdp.terminal[s2]:
                outcomes.append((p, total))
            else:
                for a2 in range(mdp.n_actions):
                    walk(s2, a2, p * pi[s2, a2], total, weight * gamma * lam)

    walk(s, a, 1.0, 0.0, 1.0)
    p, x = np.array(outcomes).T
    assert abs(p.sum() - 1) < 1e-12
    mean = p @ x
    return mean, p @ (x - mean) ** 2


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("gamma,lam", [(1.0, 1.0), (0.9, 0.0), (0.9, 0.5), (0.8, 0.95)])
def test_exact_moments_against_enumeration(seed, gamma, lam):
    mdp = layered_mdp(seed)
    rng = np.random.default_rng(100 + seed)
    pi = softmax_policy(rng.normal(size=(mdp.n_states, mdp.n_actions)))
    V = rng.normal(size=mdp.n_states)  # a wrong critic
    got = exact_gae_moments(mdp, pi, gamma, lam, values=V)
    A_true = mdp.advantages(pi, gamma)
    for s in range(mdp.n_states - 1):
        for a in range(mdp.n_actions):
            mean, var = enumerate_gae(mdp, pi, np.where(mdp.terminal, 0, V), gamma, lam, s, a)
            assert abs(got.mean[s, a] - mean) < 1e-12
            assert abs(got.variance[s, a] - var) < 1e-11
            assert abs(got.bias[s, a] - (mean - A_true[s, a])) < 1e-12
    np.testing.assert_array_equal(got.advantage, A_true)
    assert (got.mean[-1] == 0).all() and (got.variance[-1] == 0).all()


def test_exact_mean_against_power_series_on_the_grid_world():
    # E[A_t | s, a] = sum_l c^l E[delta_{t+l} | s, a], with the law of s_{t+l} propagated
    world = gridworld()
    pi = softmax_policy(np.random.default_rng(3).normal(size=(world.n_states, 4)))
    gamma, lam = 0.95, 0.8
    V = world.evaluate(pi, gamma) + np.random.default_rng(4).normal(size=world.n_states)
    V = np.where(world.terminal, 0.0, V)
    delta = world.R_full + gamma * V[None, None, :] - V[:, None, None]
    d_sa = (world.P * delta).sum(axis=2)
    d_bar = (pi * d_sa).sum(axis=1)
    P_pi, _ = world.markov_chain(pi)
    alive = np.where(world.terminal, 0.0, 1.0)
    series, law, c = d_sa.copy(), world.P * alive, gamma * lam  # law of s_{t+1}, (S, A, S)
    for l in range(1, 2000):
        series += c**l * law @ d_bar
        law = (law @ P_pi) * alive
    got = exact_gae_moments(world, pi, gamma, lam, values=V)
    nt = ~world.terminal
    np.testing.assert_allclose(got.mean[nt], series[nt], atol=1e-10)


def test_gamma_just_cases_on_the_grid_world():
    world = gridworld()
    pi = softmax_policy(np.random.default_rng(5).normal(size=(world.n_states, 4)))
    nt = ~world.terminal
    err = np.random.default_rng(6).normal(size=world.n_states)
    for gamma in (0.9, 1.0):
        V = world.evaluate(pi, gamma)
        for lam in (0.0, 0.3, 0.9, 1.0):  # exact V: unbiased for every lambda
            assert np.abs(exact_gae_moments(world, pi, gamma, lam).bias).max() < 1e-12
        wrong = exact_gae_moments(world, pi, gamma, 1.0, values=V + err)
        # lam = 1: bias -err(s), the same for every action (a baseline)
        np.testing.assert_allclose(wrong.bias[nt], -np.repeat(err[nt, None], 4, axis=1),
                                   atol=1e-12)
        td = exact_gae_moments(world, pi, gamma, 0.0, values=V + err)
        e0 = np.where(world.terminal, 0.0, err)
        expect = gamma * world.P @ e0 - e0[:, None]  # lam = 0: gamma E[err(s')] - err(s)
        np.testing.assert_allclose(td.bias[nt], expect[nt], atol=1e-12)
        # lam = 0, exact V: variance of r + gamma V(s') given (s, a)
        delta = world.R_full + gamma * V[None, None, :] - V[:, None, None]
        var = (world.P * delta**2).sum(axis=2) - (world.P * delta).sum(axis=2) ** 2
        np.testing.assert_allclose(exact_gae_moments(world, pi, gamma, 0.0).variance[nt],
                                   var[nt], atol=1e-12)


def test_exact_moments_against_simulation():
    world = gridworld()
    pi = np.full((world.n_states, 4), 0.25)
    gamma, lam = 0.95, 0.7
    V = world.evaluate(pi, gamma) + 0.3 * np.sin(np.arange(world.n_states))
    got = exact_gae_moments(world, pi, gamma, lam, values=V)
    nt = np.flatnonzero(~world.terminal)
    start = np.random.default_rng(7).choice(nt, 40_000)
    ep = world.sample_episodes(pi, start.size, rng=8, start=start)
    assert not ep.truncated.any()
    Vz = np.where(world.terminal, 0.0, V)
    dones = ep.mask & world.terminal[ep.next_states]
    adv = gae(ep.rewards, Vz[ep.states] * ep.mask, np.zeros(start.size), gamma, lam, dones)
    s0, a0, x = ep.states[0], ep.actions[0], adv[0]  # one independent sample per episode
    for s in nt:
        for a in range(4):
            xs = x[(s0 == s) & (a0 == a)]
            se = xs.std(ddof=1) / np.sqrt(xs.size)
            assert abs(xs.mean() - got.mean[s, a]) < 5 * se
            assert abs(xs.var(ddof=1) / got.variance[s, a] - 1) < 0.25


def test_bad_inputs():
    with pytest.raises(ValueError, match="k"):
        n_step_advantages([1.0], [0.0], 0.0, 0.9, 0)
    with pytest.raises(ValueError, match="k"):
        n_step_advantages([1.0], [0.0], 0.0, 0.9, 1.5)
    with pytest.raises(ValueError, match="k"):
        n_step_advantages([1.0], [0.0], 0.0, 0.9, True)
    with pytest.raises(ValueError, match="gamma"):
        n_step_advantages([1.0], [0.0], 0.0, 1.5, 2)
    with pytest.raises(ValueError, match="dones"):
        n_step_advantages([1.0, 2.0], [0.0, 0.0], 0.0, 0.9, 2, dones=[True])
    with pytest.raises(ValueError, match="values"):
        n_step_advantages([1.0, 2.0], [0.0], 0.0, 0.9, 2)
    world = gridworld()
    pi = np.full((world.n_states, 4), 0.25)
    with pytest.raises(ValueError, match="lam"):
        exact_gae_moments(world, pi, 0.9, 1.2)
    with pytest.raises(ValueError, match="gamma"):
        exact_gae_moments(world, pi, -0.1, 0.5)
    with pytest.raises(ValueError, match="values"):
        exact_gae_moments(world, pi, 0.9, 0.5, values=np.zeros(3))
    with pytest.raises(ValueError, match="values"):
        exact_gae_moments(world, pi, 0.9, 0.5, values=np.full(world.n_states, np.nan))
    with pytest.raises(ValueError, match="pi"):
        exact_gae_moments(world, pi[:, :2], 0.9, 0.5)
    still = gridworld(slip=0.0)  # no slip, always west: no episode ends
    west = still.deterministic_policy(np.full(still.n_states, 3))
    with pytest.raises(ValueError, match="gamma"):
        exact_gae_moments(still, west, 1.0, 1.0)
