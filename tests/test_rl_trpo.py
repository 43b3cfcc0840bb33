"""Tests of TRPO (sprl.rl.trpo) and of the trust-region facts of sprl.rl.tabular (section 2.6).

Mutations applied by hand (2026-12-04), each failing at least one test here: CG's
direction update using the old residual; CG's beta ratio inverted; CG's alpha with p^T p
instead of p^T F p; CG's residual updated with the wrong sign; CG's r^T r never updated;
the KL reversed (new || old); the KL averaged instead of summed over the actions; the
damping dropped from the Fisher-vector product; beta = 2 delta / x^T F x (no square
root); beta = sqrt(delta / x^T F x) (no 2); x^T x in place of x^T F x; the line search
accepting a step that violates the KL bound, or one that does not improve the surrogate;
the line search starting at rho^1; the step taken against the gradient; a rejected step
not undone; the predicted KL without its 1/2; the ratio inverted in train's surrogate;
the critic's target A instead of A + V; gamma dropped from the truncation bootstrap; no
advantage normalisation; the next rollout restarting from the previous first state.
Second round: CG's x updated along r instead of p; the detach of old_logits in mean_kl
dropped; train's KL measured against the current logits; the line search trying rho * j
instead of rho^j; the bootstrap also on terminations; truncation not ending the episode;
gamma and lambda swapped in the call to gae; normalisation by the mean only; the critic's
loss without 1/2; V(s_0) passed to gae as the last value instead of V(s_T).  Six of all
these survived at first: the critic's target, the truncation bootstrap's gamma, the
normalisation, rho * j and V(s_0) are caught by test_each_step_of_an_iteration_by_hand
and test_line_search_on_a_problem_with_a_known_answer; the missing detach (train builds
old_logits under no_grad) by test_fisher_vector_product_equals_the_explicit_fisher_matrix.
"""

from dataclasses import replace

import numpy as np
import pytest
import torch
from scipy.stats import entropy

from sprl.rl import trpo
from sprl.rl.policies import CategoricalPolicy
from sprl.rl.tabular import (
    TabularMDP,
    gridworld,
    performance_difference,
    policy_gradient,
    policy_kl,
    policy_tv,
    softmax_policy,
    surrogate,
    trpo_lower_bound,
)

from counter_envs import TERMINATED, TRUNCATED  # tests/counter_envs.py


@pytest.fixture(scope="module")
def world():
    return gridworld()


def random_pairs(world, rng, n):
    """Pairs of softmax policies, from nearly equal to far apart."""
    S, A = world.n_states, world.n_actions
    for k in range(n):
        theta = rng.normal(size=(S, A)) * rng.choice([0.5, 2.0])
        scale = [1e-3, 0.05, 0.3, 1.0, 4.0][k % 5]
        yield softmax_policy(theta), softmax_policy(theta + scale * rng.normal(size=(S, A)))


# ---------------------------------------------------------------------- tabular, exact
@pytest.mark.parametrize("gamma", [0.5, 0.9, 0.99, 1.0])
def test_performance_difference_identity(world, gamma):
    rng = np.random.default_rng(1)
    for pi, pi_new in random_pairs(world, rng, 60):
        J, J_new = world.objective(pi, gamma), world.objective(pi_new, gamma)
        err = abs(J_new - J - performance_difference(world, pi, pi_new, gamma))
        assert err < 1e-12 * max(1.0, abs(J), abs(J_new))  # to rounding (|J| up to ~10)
    # the identity needs the NEW policy's visits: the old policy's give the surrogate
    pi, pi_new = list(random_pairs(world, np.random.default_rng(2), 5))[-1]  # far apart
    gap = world.objective(pi_new, gamma) - surrogate(world, pi, pi_new, gamma)
    assert abs(gap) > 1e-6


def neumann_visits(world, pi, gamma, n_terms=3000):
    """d^T = mu0^T sum_t (gamma P_pi)^t on non-terminal states: a second method."""
    P_pi, _ = world.markov_chain(pi)
    nt = ~world.terminal
    P = P_pi * nt[None, :] * nt[:, None]
    d, row = np.zeros(world.n_states), world.mu0 * nt
    for _ in range(n_terms):
        d += row
        row = gamma * row @ P
    return d


@pytest.mark.parametrize("gamma", [0.5, 0.9])
def test_surrogate_and_bound_by_a_second_method(world, gamma):
    rng = np.random.default_rng(3)
    nt = ~world.terminal
    for pi, pi_new in random_pairs(world, rng, 20):
        Q = world.q_values(pi, gamma)
        A = Q - (pi * Q).sum(1, keepdims=True)
        L = world.objective(pi, gamma) + neumann_visits(world, pi, gamma) @ (pi_new * A).sum(1)
        assert surrogate(world, pi, pi_new, gamma) == pytest.approx(L, abs=1e-12)
        C = 4 * np.abs(A[nt]).max() * gamma / (1 - gamma) ** 2
        tv = 0.5 * np.abs(pi - pi_new).sum(1)
        kl = (pi * np.log(pi / pi_new)).sum(1)
        assert trpo_lower_bound(world, pi, pi_new, gamma, "tv") == pytest.approx(
            L - C * (tv[nt] ** 2).max(), abs=1e-12)
        assert trpo_lower_bound(world, pi, pi_new, gamma) == pytest.approx(
            L - C * kl[nt].max(), abs=1e-12)


@pytest.mark.parametrize("gamma", [0.5, 0.9, 0.99])
def test_lower_bound_is_never_violated(world, gamma):
    rng = np.random.default_rng(4)
    nt = ~world.terminal
    for pi, pi_new in random_pairs(world, rng, 200):
        J_new = world.objective(pi_new, gamma)
        L = surrogate(world, pi, pi_new, gamma)
        b_tv = trpo_lower_bound(world, pi, pi_new, gamma, "tv")
        b_kl = trpo_lower_bound(world, pi, pi_new, gamma, "kl")
        assert J_new >= b_tv - 1e-12 and b_tv >= b_kl  # KL version is weaker
        # the proof gives |J(pi') - L(pi')| <= C alpha^2: the bound holds on both sides
        assert J_new - L <= L - b_tv + 1e-12
        assert (policy_tv(pi, pi_new)[nt] ** 2 <= policy_kl(pi, pi_new)[nt] / 2 + 1e-15).all()


@pytest.mark.parametrize("gamma", [0.9, 0.99])
def test_bound_is_within_a_factor_two_of_tight_on_a_two_state_mdp(gamma):
    # state 0: action 0 stays, action 1 moves to the absorbing state 1, no reward;
    # state 1: action 0 pays +1, action 1 pays -1.  pi never leaves 0, so L = J(pi) = 0,
    # while J(pi') = -2 alpha * gamma alpha / ((1 - gamma)(1 - gamma + gamma alpha)):
    # (L - J(pi')) / (C alpha^2) = (1 - gamma) / (2 (1 - gamma + gamma alpha)) -> 1/2.
    P = np.zeros((2, 2, 2))
    P[0, 0, 0] = P[0, 1, 1] = P[1, :, 1] = 1.0
    mdp = TabularMDP(P, [[0.0, 0.0], [1.0, -1.0]], mu0=[1.0, 0.0])
    pi = np.array([[1.0, 0.0], [0.5, 0.5]])
    for alpha in (1e-3, 1e-2):
        pi_new = np.array([[1 - alpha, alpha], [0.5 - alpha, 0.5 + alpha]])
        J_new = -2 * alpha * gamma * alpha / ((1 - gamma) * (1 - gamma + gamma * alpha))
        C = 4 * gamma / (1 - gamma) ** 2  # eps = max |A| = 1
        assert mdp.objective(pi_new, gamma) == pytest.approx(J_new, rel=1e-10)
        assert surrogate(mdp, pi, pi_new, gamma) == pytest.approx(0.0, abs=1e-12)
        b_tv = trpo_lower_bound(mdp, pi, pi_new, gamma, "tv")
        assert b_tv == pytest.approx(-C * alpha ** 2, rel=1e-10)
        assert J_new >= b_tv
        # a constant 4 times too small, or one power of (1 - gamma) short, fails here
        assert J_new < -C / 4 * alpha ** 2
        assert J_new < -C * (1 - gamma) * alpha ** 2


def test_surrogate_matches_j_to_first_order(world):
    gamma = 0.9
    theta = np.random.default_rng(5).normal(size=(world.n_states, world.n_actions))
    pi = softmax_policy(theta)
    assert surrogate(world, pi, pi, gamma) == pytest.approx(world.objective(pi, gamma), abs=1e-13)
    h, grad = 1e-6, np.zeros_like(theta)
    for idx in np.ndindex(theta.shape):
        e = np.zeros_like(theta)
        e[idx] = h
        grad[idx] = (surrogate(world, pi, softmax_policy(theta + e), gamma)
                     - surrogate(world, pi, softmax_policy(theta - e), gamma)) / (2 * h)
    np.testing.assert_allclose(grad, policy_gradient(world, theta, gamma), atol=1e-8)


def test_kl_and_tv_by_hand():
    rng = np.random.default_rng(6)
    p, q = rng.dirichlet(np.ones(4), size=5), rng.dirichlet(np.ones(4), size=5)
    np.testing.assert_allclose(policy_kl(p, q), [entropy(a, b) for a, b in zip(p, q)], atol=1e-14)
    np.testing.assert_allclose(policy_tv(p, q), 0.5 * np.abs(p - q).sum(1), atol=1e-15)
    assert (policy_kl(p, p) == 0).all() and (policy_tv(p, p) == 0).all()
    zero = np.array([[0.5, 0.5, 0.0], [1.0, 0.0, 0.0]])
    other = np.array([[0.5, 0.0, 0.5], [0.5, 0.5, 0.0]])
    assert policy_kl(zero, other)[0] == np.inf  # pi takes an action pi_new never does
    assert policy_kl(zero, other)[1] == pytest.approx(np.log(2), abs=1e-15)  # 0 log 0 = 0


def test_tabular_bad_inputs(world):
    pi = np.full((world.n_states, world.n_actions), 1 / world.n_actions)
    with pytest.raises(ValueError, match="gamma"):
        trpo_lower_bound(world, pi, pi, 1.0)
    with pytest.raises(ValueError, match="divergence"):
        trpo_lower_bound(world, pi, pi, 0.9, "l2")
    with pytest.raises(ValueError, match="pi_new"):
        surrogate(world, pi, pi[:-1], 0.9)
    with pytest.raises(ValueError, match="pi_new"):
        policy_kl(pi, pi * 2)
    with pytest.raises(ValueError, match="pi_new"):
        policy_tv(pi, pi[:, :2])
    with pytest.raises(ValueError, match="pi"):
        performance_difference(world, -pi, pi, 0.9)


# ---------------------------------------------------------------------- conjugate gradient
@pytest.mark.parametrize("n", [1, 3, 10, 40])
def test_conjugate_gradient_solves_random_spd_systems(n):
    gen = torch.Generator().manual_seed(n)
    for _ in range(5):
        M = torch.randn(n, n, generator=gen, dtype=torch.float64)
        F = M @ M.T + 0.1 * torch.eye(n, dtype=torch.float64)
        b = torch.randn(n, generator=gen, dtype=torch.float64)
        calls = []

        def fvp(v):
            calls.append(1)
            return F @ v

        x = trpo.conjugate_gradient(fvp, b, n_iters=3 * n, tol=1e-28)
        torch.testing.assert_close(x, torch.linalg.solve(F, b), rtol=1e-7, atol=1e-9)
        assert len(calls) <= 3 * n


def test_conjugate_gradient_is_exact_after_n_steps_on_well_conditioned_systems():
    gen = torch.Generator().manual_seed(0)
    n = 6
    Q, _ = torch.linalg.qr(torch.randn(n, n, generator=gen, dtype=torch.float64))
    F = Q @ torch.diag(torch.linspace(1.0, 3.0, n, dtype=torch.float64)) @ Q.T
    b = torch.randn(n, generator=gen, dtype=torch.float64)
    exact = torch.linalg.solve(F, b)
    x_n = trpo.conjugate_gradient(lambda v: F @ v, b, n_iters=n, tol=0.0)
    x_2 = trpo.conjugate_gradient(lambda v: F @ v, b, n_iters=2, tol=0.0)
    torch.testing.assert_close(x_n, exact, rtol=1e-10, atol=1e-12)
    assert (x_2 - exact).norm() > 1e-4  # two steps are not enough
    # each CG iterate minimises 1/2 x^T F x - b^T x over its Krylov space: better than 0
    assert 0.5 * x_2 @ F @ x_2 - b @ x_2 < 0


def test_conjugate_gradient_bad_inputs():
    F = torch.eye(3, dtype=torch.float64)
    b = torch.ones(3, dtype=torch.float64)
    with pytest.raises(ValueError, match="n_iters"):
        trpo.conjugate_gradient(lambda v: F @ v, b, n_iters=0)
    with pytest.raises(ValueError, match="tol"):
        trpo.conjugate_gradient(lambda v: F @ v, b, tol=-1.0)
    with pytest.raises(ValueError, match="b must"):
        trpo.conjugate_gradient(lambda v: F @ v, torch.ones(3, 1))
    with pytest.raises(ValueError, match="b must"):
        trpo.conjugate_gradient(lambda v: F @ v, torch.tensor([1.0, float("nan")]))
    with pytest.raises(ValueError, match="positive definite"):
        trpo.conjugate_gradient(lambda v: -v, b)


# ---------------------------------------------------------------------- Fisher-vector product
def tiny_policy(seed=0):
    torch.manual_seed(seed)
    policy = CategoricalPolicy(3, 4, hidden=(5,)).double()
    for p in policy.parameters():  # not the near-uniform init: a policy with some shape
        p.data += 0.5 * torch.randn_like(p)
    obs = torch.randn(7, 3, dtype=torch.float64)
    return policy, obs


def explicit_fisher(policy, obs):
    """F = mean_s sum_a pi(a|s) grad log pi(a|s) grad log pi(a|s)^T, entry by entry."""
    params = list(policy.parameters())
    n = sum(p.numel() for p in params)
    F = torch.zeros(n, n, dtype=torch.float64)
    for s in obs:
        logp = torch.log_softmax(policy(s[None]), -1)[0]
        for a in range(logp.numel()):
            g = torch.autograd.grad(logp[a], params, retain_graph=True)
            g = torch.cat([x.reshape(-1) for x in g])
            F += logp[a].exp().detach() * torch.outer(g, g)
    return F / len(obs)


def test_fisher_vector_product_equals_the_explicit_fisher_matrix():
    policy, obs = tiny_policy()
    params = list(policy.parameters())
    with torch.no_grad():
        old_logits = policy(obs)
    F = explicit_fisher(policy, obs)
    n = F.shape[0]
    assert n == sum(p.numel() for p in params)
    gen = torch.Generator().manual_seed(1)
    for damping in [0.0, 0.1]:
        for _ in range(3):
            v = torch.randn(n, generator=gen, dtype=torch.float64)
            Fv = trpo.fisher_vector_product(lambda: trpo.mean_kl(policy, obs, old_logits),
                                            params, v, damping)
            torch.testing.assert_close(Fv, F @ v + damping * v, rtol=1e-10, atol=1e-12)
    # old_logits are held fixed even when handed over with a graph (here recomputed from
    # the policy at each call): otherwise KL(pi_theta || pi_theta) = 0 and F v would be 0
    v = torch.randn(n, generator=gen, dtype=torch.float64)
    Fv = trpo.fisher_vector_product(lambda: trpo.mean_kl(policy, obs, policy(obs)), params, v)
    torch.testing.assert_close(Fv, F @ v, rtol=1e-10, atol=1e-12)
    # the KL and its gradient vanish at theta_old; its Hessian there is F (symmetric, PSD)
    assert float(trpo.mean_kl(policy, obs, old_logits).detach()) == pytest.approx(0, abs=1e-15)
    assert torch.linalg.eigvalsh(F).min() > -1e-12


def test_mean_kl_is_the_exact_kl():
    policy, obs = tiny_policy()
    old_logits = torch.randn(7, 4, dtype=torch.float64)
    with torch.no_grad():
        p = torch.softmax(old_logits, -1).numpy()
        q = torch.softmax(policy(obs), -1).numpy()
        got = float(trpo.mean_kl(policy, obs, old_logits))
    assert got == pytest.approx(policy_kl(p, q).mean(), abs=1e-13)


def test_fisher_vector_product_bad_inputs():
    policy, obs = tiny_policy()
    params = list(policy.parameters())
    with pytest.raises(ValueError, match="v must"):
        trpo.fisher_vector_product(lambda: trpo.mean_kl(policy, obs, policy(obs)), params,
                                   torch.ones(3, dtype=torch.float64))
    n = sum(p.numel() for p in params)
    with pytest.raises(ValueError, match="damping"):
        trpo.fisher_vector_product(lambda: trpo.mean_kl(policy, obs, policy(obs)), params,
                                   torch.ones(n, dtype=torch.float64), damping=-1.0)


# ---------------------------------------------------------------------- the step
def step_problem(seed=0):
    policy, obs = tiny_policy(seed)
    with torch.no_grad():
        old_logits = policy(obs)
    actions = torch.arange(7) % 4
    adv = torch.linspace(-1, 1, 7, dtype=torch.float64)
    old_logp = torch.log_softmax(old_logits, -1)[torch.arange(7), actions]

    def surrogate_fn():
        return (torch.exp(policy.log_prob(obs, actions) - old_logp) * adv).mean()

    def kl_fn():
        return trpo.mean_kl(policy, obs, old_logits)

    return policy, obs, surrogate_fn, kl_fn


def test_step_size_comes_from_the_quadratic_model_of_the_kl():
    policy, obs, surrogate_fn, kl_fn = step_problem()
    params = list(policy.parameters())
    theta0 = torch.nn.utils.parameters_to_vector(params).detach().clone()
    with torch.no_grad():
        L0 = float(surrogate_fn())
    g = torch.cat([x.reshape(-1) for x in torch.autograd.grad(surrogate_fn(), params)])
    F = explicit_fisher(policy, obs)
    delta, rho = 1e-8, 0.8
    out = trpo.natural_gradient_step(policy, surrogate_fn, kl_fn, delta, cg_iters=F.shape[0],
                                     damping=1e-9, backtrack_coef=rho)
    theta1 = torch.nn.utils.parameters_to_vector(params).detach()
    step = theta1 - theta0
    shrink = rho ** (2 * out["backtracks"])  # accepted step = rho^j * full step
    assert out["accepted"] and out["backtracks"] <= 1 and out["improvement"] > 0
    assert out["predicted_kl"] == pytest.approx(delta, rel=1e-6)  # 1/2 s^T F s = delta
    assert float(0.5 * step @ F @ step) == pytest.approx(delta * shrink, rel=1e-4)
    assert out["kl"] == pytest.approx(delta * shrink, rel=0.01)  # the quadratic model
    assert out["kl"] <= delta and float(surrogate_fn().detach()) == pytest.approx(
        L0 + out["improvement"], abs=1e-14)
    # the direction is the natural gradient F^+ g (F is singular: softmax shift invariance)
    natural = torch.linalg.pinv(F, rtol=1e-10) @ g
    cos = step @ natural / (step.norm() * natural.norm())
    assert float(cos) > 0.999


def test_line_search_shrinks_the_step_and_rejects_when_nothing_improves():
    policy, obs, surrogate_fn, kl_fn = step_problem(1)
    out = trpo.natural_gradient_step(policy, surrogate_fn, kl_fn, 5.0, damping=0.0,
                                     backtrack_coef=0.5, backtrack_iters=30)
    assert out["accepted"] and out["kl"] <= 5.0
    backtracked = 0
    for delta in [0.05, 0.2, 0.5, 1.0, 2.0]:  # large steps: the quadratic model overshoots
        policy, obs, surrogate_fn, kl_fn = step_problem(1)
        out = trpo.natural_gradient_step(policy, surrogate_fn, kl_fn, delta, damping=0.0,
                                         backtrack_coef=0.5, backtrack_iters=30)
        with torch.no_grad():
            assert out["accepted"] and float(kl_fn()) == out["kl"] <= delta
        backtracked += out["backtracks"] > 0
    assert backtracked >= 1
    policy, obs, surrogate_fn, kl_fn = step_problem(2)  # fresh: KL minimal at theta_old
    params = list(policy.parameters())
    before = torch.nn.utils.parameters_to_vector(params).detach().clone()
    # a surrogate with a gradient that gets worse a step away: no step passes

    def bad_surrogate():
        theta = torch.nn.utils.parameters_to_vector(params)
        return surrogate_fn() - 1e12 * ((theta - before) ** 2).sum()

    out = trpo.natural_gradient_step(policy, bad_surrogate, kl_fn, 0.01)
    after = torch.nn.utils.parameters_to_vector(params).detach()
    assert not out["accepted"] and out["kl"] == 0.0 and torch.equal(before, after)
    with pytest.raises(ValueError, match="max_kl"):
        trpo.natural_gradient_step(policy, surrogate_fn, kl_fn, 0.0)


# ---------------------------------------------------------------------- one iteration, by hand


@pytest.mark.parametrize("env_id, truncates", [(TRUNCATED, True),
                                                (TERMINATED, False)])
def test_each_step_of_an_iteration_by_hand(monkeypatch, env_id, truncates):
    """Spies on train(): the rollout, the rewards given to GAE, the surrogate at theta_k
    and its gradient, and the critic's loss gradient, each against a hand computation."""
    nets, obs_seen, act_seen, gae_calls, checks, bias_grads = {}, [], [], [], [], []
    real_policy, real_value = trpo.CategoricalPolicy, trpo.ValueNetwork
    real_gae, real_step, real_clip = trpo.gae, trpo.natural_gradient_step, trpo._clip_grad

    def spy_policy(*args, **kwargs):
        net = nets["policy"] = real_policy(*args, **kwargs)
        real_sample = net.sample

        def sample(obs, generator=None):
            action = real_sample(obs, generator)
            obs_seen.append(obs.clone()), act_seen.append(action.clone())
            return action

        net.sample = sample
        return net

    def spy_value(*args, **kwargs):
        net = nets["value"] = real_value(*args, **kwargs)
        return net

    def spy_gae(rewards, v, last, gamma, lam, dones=None):
        adv = real_gae(rewards, v, last, gamma, lam, dones=dones)
        t_next = 12 * (len(gae_calls) + 1) % 5  # the observation after the rollout: (t, 0)
        with torch.no_grad():  # V(s_final), s_final = (5, 0): where every episode is cut
            v_final = nets["value"](torch.tensor([[5.0, 0.0]])).item()
            v_next = nets["value"](torch.tensor([[float(t_next), 0.0]])).item()
        np.testing.assert_allclose(last, [v_next, v_next], rtol=1e-6)  # V(s_T), not V(s_0)
        gae_calls.append((rewards.copy(), dones.copy(), gamma * v_final, adv.copy()))
        return adv

    def spy_step(policy, surrogate_fn, kl_fn, *args):
        k = len(checks)
        b_obs = torch.stack(obs_seen[12 * k:12 * (k + 1)]).reshape(-1, 2)  # time-major
        b_act = torch.stack(act_seen[12 * k:12 * (k + 1)]).reshape(-1)
        adv = torch.as_tensor(gae_calls[k][3].reshape(-1), dtype=torch.float32)
        b_adv = (adv - adv.mean()) / (adv.std() + 1e-8)  # normalised, std with ddof 1
        params = list(policy.parameters())
        surr = surrogate_fn()
        g = torch.autograd.grad(surr, params)
        # at theta_k the ratio is 1: L = mean(b_adv) = 0 and grad L = mean(b_adv grad log pi)
        g_hand = torch.autograd.grad((policy.log_prob(b_obs, b_act) * b_adv).mean(), params)
        err = [(a - b).abs().max().item() for a, b in zip(g, g_hand)]
        checks.append((float(surr.detach()), float(kl_fn().detach()), err))
        return real_step(policy, surrogate_fn, kl_fn, *args)

    def spy_clip(params, max_norm):
        params = list(params)
        bias_grads.append(params[-1].grad.item())  # the critic's output bias
        return real_clip(params, max_norm)

    monkeypatch.setattr(trpo, "CategoricalPolicy", spy_policy)
    monkeypatch.setattr(trpo, "ValueNetwork", spy_value)
    monkeypatch.setattr(trpo, "gae", spy_gae)
    monkeypatch.setattr(trpo, "natural_gradient_step", spy_step)
    monkeypatch.setattr(trpo, "_clip_grad", spy_clip)
    config = trpo.Config(env_id=env_id, n_envs=2, n_steps=12, gamma=0.9, hidden=(8,),
                         value_epochs=1, value_minibatches=1, max_env_steps=72,
                         target_return=None)
    h = trpo.train(config, seed=0, progress=False)
    assert len(gae_calls) == len(checks) == len(bias_grads) == 3
    assert h.episode_returns == [5.0] * len(h.episode_returns) and len(h.episode_returns) >= 12
    # the rollouts continue one another: the observations run 0, 1, 2, 3, 4, 0, ... throughout
    t = torch.stack(obs_seen)[:, :, 0]
    expect = (torch.arange(36) % 5).float()[:, None].expand(36, 2)
    assert torch.equal(t, expect)
    for rewards, dones, bootstrap, adv in gae_calls:
        assert dones.sum() >= 4 and abs(bootstrap) > 1e-3
        # at a time limit r + gamma V(s_final), at a termination r alone
        np.testing.assert_allclose(rewards, np.where(dones, 1.0 + truncates * bootstrap, 1.0),
                                   rtol=1e-6, atol=1e-6)
    for (surr, kl, grad_err), (_, _, _, adv), bias_grad in zip(checks, gae_calls, bias_grads):
        assert abs(surr) < 1e-6 and abs(kl) < 1e-12 and max(grad_err) < 1e-6
        # critic loss 1/2 mean (V - R_hat)^2 with R_hat = A_hat + V: d / d bias = -mean(A_hat)
        assert bias_grad == pytest.approx(-adv.mean(), abs=1e-5)
        assert abs(adv.mean()) > 1e-3


def test_line_search_on_a_problem_with_a_known_answer():
    """Linear surrogate g^T d, "KL" 1/2 d^T A d + kappa |d|^4 (Hessian A at d = 0): the
    natural direction is A^{-1} g, the full step reaches the model's KL delta, and the
    quartic term makes the true KL 51 delta there, delta/4 + 50 delta/16 at rho = 1/2
    and delta/16 + 50 delta/256 < delta at rho^2: two backtracks, step rho^2 times full."""
    torch.manual_seed(0)
    policy = torch.nn.Linear(2, 1, bias=False).double()
    params = list(policy.parameters())
    theta0 = torch.nn.utils.parameters_to_vector(params).detach().clone()
    A = torch.tensor([[2.0, 0.5], [0.5, 1.0]], dtype=torch.float64)
    g = torch.tensor([1.0, -2.0], dtype=torch.float64)
    delta, rho = 0.1, 0.5
    x = torch.linalg.solve(A, g)
    full = torch.sqrt(2 * delta / (x @ A @ x)) * x  # 1/2 full^T A full = delta
    kappa = 50 * delta / float(full @ full) ** 2

    def diff():
        return torch.nn.utils.parameters_to_vector(params) - theta0

    def kl_fn():
        d = diff()
        return 0.5 * d @ A @ d + kappa * (d @ d) ** 2

    out = trpo.natural_gradient_step(policy, lambda: g @ diff(), kl_fn, delta, cg_iters=2,
                                     damping=0.0, backtrack_coef=rho)
    assert out["accepted"] and out["backtracks"] == 2
    torch.testing.assert_close(diff().detach(), rho ** 2 * full, rtol=1e-10, atol=1e-12)
    assert out["predicted_kl"] == pytest.approx(delta, rel=1e-10)
    assert out["kl"] == pytest.approx(delta / 16 + 50 * delta / 256, rel=1e-10)
    assert out["improvement"] == pytest.approx(float(g @ full) / 4, rel=1e-10)


# ---------------------------------------------------------------------- training
def test_training_improves_the_return_is_reproducible_and_respects_the_trust_region():
    config = trpo.Config(max_env_steps=6144, target_return=None)
    state = torch.random.get_rng_state()
    h1 = trpo.train(config, seed=3, progress=False)
    h2 = trpo.train(config, seed=3, progress=False)
    r = np.asarray(h1.episode_returns)
    assert r[-10:].mean() > 2 * r[:10].mean()
    assert h1.episode_returns == h2.episode_returns and h1.kl == h2.kl
    assert len(h1.kl) == 6144 // 512 == len(h1.accepted) == len(h1.update_steps)
    kl = np.asarray(h1.kl)
    assert (kl <= config.max_kl).all() and (kl[np.asarray(h1.accepted)] > 0).all()
    assert np.mean(h1.accepted) >= 0.9 and kl.max() > config.max_kl / 4
    assert torch.equal(torch.random.get_rng_state(), state)
    assert isinstance(h1, trpo.History) and not h1.reached_target


@pytest.mark.parametrize("field, value", [
    ("max_kl", 0.0), ("max_kl", -0.1), ("max_kl", float("nan")), ("gamma", 1.5),
    ("lam", -0.1), ("lam", 1.01), ("cg_iters", 0), ("damping", -1.0),
    ("backtrack_coef", 1.0), ("backtrack_coef", 0.0), ("backtrack_iters", 0),
    ("n_envs", 0), ("n_steps", 2.5), ("value_lr", 0.0), ("value_epochs", 0),
    ("value_minibatches", 7), ("max_env_steps", 0), ("window", 0), ("hidden", ()),
    ("target_return", float("inf")),
])
def test_bad_configs_name_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        replace(trpo.Config(), **{field: value})


def test_train_checks_its_arguments():
    with pytest.raises(ValueError, match="config"):
        trpo.train(object(), progress=False)
    with pytest.raises(ValueError, match="seed"):
        trpo.train(trpo.Config(), seed=-1, progress=False)
