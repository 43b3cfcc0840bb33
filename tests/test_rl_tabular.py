"""Tests of sprl.rl.tabular: exact values, Monte Carlo agreement, exact policy gradients."""

import numpy as np
import pytest
import torch

from sprl.rl.tabular import (
    TabularMDP,
    gridworld,
    policy_gradient,
    score_function_gradients,
    softmax_policy,
)
from sprl.rl.returns import reward_to_go

# Russell & Norvig, AIMA (3rd ed.), Figure 17.3: optimal utilities of the 4 x 3 world, gamma = 1.
AIMA_VALUES = {"(3,1)": 0.812, "(3,2)": 0.868, "(3,3)": 0.918,
               "(2,1)": 0.762, "(2,3)": 0.660,
               "(1,1)": 0.705, "(1,2)": 0.655, "(1,3)": 0.611, "(1,4)": 0.388}
# Figure 17.2 (R(s) = -0.04): the optimal actions.
AIMA_POLICY = {"(3,1)": "E", "(3,2)": "E", "(3,3)": "E", "(2,1)": "N", "(2,3)": "N",
               "(1,1)": "N", "(1,2)": "W", "(1,3)": "W", "(1,4)": "W"}


@pytest.fixture(scope="module")
def world():
    return gridworld()


def test_value_and_policy_iteration_reproduce_aima(world):
    V, policy, _ = world.value_iteration(1.0)
    V2, policy2, _ = world.policy_iteration(1.0)
    for s, label in enumerate(world.labels):
        if label in AIMA_VALUES:
            assert abs(V[s] - AIMA_VALUES[label]) < 5e-4, label
            assert "NESW"[policy[s]] == AIMA_POLICY[label], label
    np.testing.assert_allclose(V, V2, atol=1e-9)
    nt = ~world.terminal
    assert (policy[nt] == policy2[nt]).all()


def test_policy_iteration_counts_improvements_that_change_the_policy(world):
    # from the uniform policy: one evaluation more than the number of policy changes
    _, a_opt, n_improve = world.policy_iteration(1.0)
    evaluations, pi, prev = 0, np.full((11, 4), 0.25), None
    while True:
        evaluations += 1
        new = world.greedy(np.round(world.q_values(pi, 1.0), 12))
        if prev is not None and (new == prev).all():
            break
        prev, pi = new, world.deterministic_policy(new)
    assert n_improve == evaluations - 1 >= 1
    # an optimal deterministic start needs no improvement at all
    V, a_again, n0 = world.policy_iteration(1.0, pi0=world.deterministic_policy(a_opt))
    assert n0 == 0
    nt = ~world.terminal
    assert (a_again[nt] == a_opt[nt]).all()


def test_evaluate_is_the_linear_solve_of_the_induced_chain(world):
    pi = softmax_policy(np.random.default_rng(1).normal(size=(11, 4)))
    P_pi, r_pi = world.markov_chain(pi)
    np.testing.assert_allclose(P_pi.sum(axis=1), 1.0)
    for gamma in (0.9, 1.0):
        V = world.evaluate(pi, gamma)
        # Bellman equation V = r_pi + gamma P_pi V on non-terminal states, 0 on terminal ones
        nt = ~world.terminal
        np.testing.assert_allclose(V[nt], (r_pi + gamma * P_pi @ V)[nt], atol=1e-12)
        assert (V[world.terminal] == 0).all()
        Q = world.q_values(pi, gamma)
        np.testing.assert_allclose((pi * Q).sum(axis=1)[nt], V[nt], atol=1e-12)


def test_monte_carlo_agrees_with_exact_values(world):
    pi = np.full((11, 4), 0.25)
    gamma = 0.95
    V = world.evaluate(pi, gamma)
    starts = np.flatnonzero(~world.terminal)
    n = 2000
    ep = world.sample_episodes(pi, n * starts.size, rng=3, start=np.repeat(starts, n))
    assert not ep.truncated.any()
    G = ep.returns(gamma).reshape(starts.size, n)
    se = G.std(axis=1, ddof=1) / np.sqrt(n)
    assert (np.abs(G.mean(axis=1) - V[starts]) < 5 * se).all()  # 5 standard errors
    # expected number of steps = sum of the undiscounted expected visits
    ep0 = world.sample_episodes(pi, 20000, rng=4)
    d = world.visitation(pi, 1.0)
    assert abs(ep0.lengths.mean() - d.sum()) < 5 * ep0.lengths.std() / np.sqrt(20000)


def exact_objective_torch(world, theta, gamma):
    """J(theta) = mu0^T (I - gamma P_pi)^-1 r_pi in torch, for autograd."""
    nt = torch.as_tensor(~world.terminal)
    pi = torch.softmax(theta, dim=1)
    P = torch.as_tensor(world.P)
    P_pi = torch.einsum("sa,sat->st", pi, P)[nt][:, nt]
    r_pi = (pi * torch.as_tensor(world.R)).sum(1)[nt]
    V = torch.linalg.solve(torch.eye(int(nt.sum()), dtype=torch.float64) - gamma * P_pi, r_pi)
    return torch.as_tensor(world.mu0)[nt] @ V


@pytest.mark.parametrize("gamma", [0.8, 1.0])
def test_policy_gradient_theorem_equals_autograd(world, gamma):
    theta = np.random.default_rng(2).normal(size=(11, 4))
    t = torch.tensor(theta, requires_grad=True)
    exact_objective_torch(world, t, gamma).backward()
    np.testing.assert_allclose(policy_gradient(world, theta, gamma), t.grad.numpy(), atol=1e-12)
    assert abs(exact_objective_torch(world, torch.tensor(theta), gamma).item()
               - world.objective(softmax_policy(theta), gamma)) < 1e-12


@pytest.mark.parametrize("gamma", [0.9, 1.0])
def test_score_function_estimators_are_unbiased(world, gamma):
    theta = np.random.default_rng(5).normal(size=(11, 4))
    pi = softmax_policy(theta)
    exact = policy_gradient(world, theta, gamma)
    ep = world.sample_episodes(pi, 20000, rng=6)
    T = ep.rewards.shape[0]
    disc = gamma ** np.arange(T)[:, None]
    full = np.broadcast_to(ep.returns(gamma), ep.rewards.shape)  # Psi_t = R(tau)
    rtg = disc * reward_to_go(ep.rewards, gamma)  # gamma^{t-1} R_hat_t
    V = world.evaluate(pi, gamma)
    base = rtg - disc * V[ep.states]  # state-value baseline
    for psi in (full, rtg, base):
        g = score_function_gradients(theta, ep, psi)
        mean = g.mean(axis=0)
        se = g.std(axis=0, ddof=1) / np.sqrt(g.shape[0])
        ok = se > 0
        assert (np.abs(mean - exact)[ok] < 4.5 * se[ok]).all()
        assert np.allclose(mean[~ok], exact[~ok], atol=1e-12)


def test_score_function_gradients_by_hand():
    world = gridworld()
    theta = np.zeros((11, 4))
    ep = world.sample_episodes(np.full((11, 4), 0.25), 3, rng=0)
    psi = np.ones_like(ep.rewards)
    g = score_function_gradients(theta, ep, psi)
    expect = np.zeros((3, 11, 4))
    for i in range(3):
        for t in range(ep.lengths[i]):
            s, a = ep.states[t, i], ep.actions[t, i]
            expect[i, s] -= 0.25
            expect[i, s, a] += 1.0
    np.testing.assert_allclose(g, expect)


def test_improper_policy_with_gamma_one_is_rejected(world):
    # always push west: from column 1 the agent never leaves column 1
    pi = world.deterministic_policy(np.full(11, 3))
    with pytest.raises(ValueError, match="gamma"):
        world.evaluate(pi, 1.0)
    assert np.isfinite(world.evaluate(pi, 0.9)).all()


def test_bad_inputs(world):
    P = np.full((2, 1, 2), 0.5)
    with pytest.raises(ValueError, match="P"):
        TabularMDP(P * 1.1, np.zeros((2, 1)), [1, 0])
    with pytest.raises(ValueError, match="P"):
        TabularMDP(np.array([[[1.5, -0.5]], [[0.5, 0.5]]]), np.zeros((2, 1)), [1, 0])
    with pytest.raises(ValueError, match="P"):
        TabularMDP(np.ones((2, 2)), np.zeros((2, 1)), [1, 0])
    with pytest.raises(ValueError, match="R"):
        TabularMDP(P, np.zeros((3, 1)), [1, 0])
    with pytest.raises(ValueError, match="mu0"):
        TabularMDP(P, np.zeros((2, 1)), [0.7, 0.7])
    with pytest.raises(ValueError, match="terminal"):
        TabularMDP(P, np.zeros((2, 1)), [1, 0], terminal=[1])
    with pytest.raises(ValueError, match="terminal"):
        TabularMDP(P, np.zeros((2, 1)), [1, 0], terminal=[5])
    pi = np.full((11, 4), 0.25)
    with pytest.raises(ValueError, match="pi"):
        world.evaluate(pi * 2, 0.9)
    with pytest.raises(ValueError, match="pi"):
        world.evaluate(np.full((11, 3), 1 / 3), 0.9)
    bad = pi.copy()
    bad[0] = [1.2, -0.2, 0, 0]
    with pytest.raises(ValueError, match="pi"):
        world.markov_chain(bad)
    for gamma in (-0.5, 1.01, np.nan):
        with pytest.raises(ValueError, match="gamma"):
            world.evaluate(pi, gamma)
    with pytest.raises(ValueError, match="slip"):
        gridworld(slip=1.5)
    with pytest.raises(ValueError, match="n_episodes"):
        world.sample_episodes(pi, 0)
    ep = world.sample_episodes(pi, 4, rng=0)
    with pytest.raises(ValueError, match="psi"):
        score_function_gradients(np.zeros((11, 4)), ep, np.ones((1, 4)))
    with pytest.raises(ValueError, match="theta"):
        policy_gradient(world, np.zeros((3, 4)), 0.9)
    with pytest.raises(ValueError, match="actions"):
        world.deterministic_policy(np.full(11, 7))


def test_tabular_and_returns_do_not_import_torch():
    import subprocess
    import sys

    code = ("import sys, sprl; sprl.rl.tabular.gridworld();"
            " sprl.rl.returns.gae([1.0], [0.0], 0.0, 1, 1); assert 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
