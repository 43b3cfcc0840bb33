"""Tests of sprl.rl.ppo: the clipped objective, the config checks, and short training runs."""

from dataclasses import replace

import gymnasium as gym
import numpy as np
import pytest
import torch

from sprl.rl import ppo
from sprl.rl.ppo import Config, clipped_objective


def by_cases(ratio, adv, eps):
    """L^CLIP written out case by case (the book's table), one sample at a time."""
    out = np.empty_like(ratio)
    for i, (r, a) in enumerate(zip(ratio, adv)):
        if a >= 0:
            out[i] = min(r, 1 + eps) * a  # A > 0: the gain stops at 1 + eps
        else:
            out[i] = max(r, 1 - eps) * a  # A < 0: the gain stops at 1 - eps
    return out


def test_clipped_objective_matches_the_case_formula_numpy_and_torch():
    rng = np.random.default_rng(0)
    ratio = rng.exponential(1.0, size=500)
    adv = rng.normal(size=500)
    for eps in (0.05, 0.2, 0.5):
        expect = by_cases(ratio, adv, eps)
        got = clipped_objective(ratio, adv, eps)
        assert isinstance(got, np.ndarray) and got.shape == (500,)
        np.testing.assert_allclose(got, expect, rtol=0, atol=1e-15)
        got_t = clipped_objective(torch.as_tensor(ratio), torch.as_tensor(adv), eps)
        assert isinstance(got_t, torch.Tensor) and got_t.dtype == torch.float64
        np.testing.assert_allclose(got_t.numpy(), expect, rtol=0, atol=1e-15)
        # the lower bound: never above the unclipped objective, equal inside the band
        assert (got <= ratio * adv + 1e-15).all()
        inside = np.abs(ratio - 1) <= eps
        np.testing.assert_array_equal(got[inside], (ratio * adv)[inside])
    np.testing.assert_allclose(
        clipped_objective([0.5, 1.5, 0.5, 1.5], [1.0, 1.0, -1.0, -1.0], 0.2),
        [0.5, 1.2, -0.8, -1.5], rtol=0, atol=1e-15)


def test_clipped_objective_gradient_is_zero_exactly_where_clipping_binds():
    rng = np.random.default_rng(1)
    ratio = torch.tensor(rng.uniform(0.3, 1.8, size=300), requires_grad=True)
    adv = torch.tensor(rng.normal(size=300))
    eps = 0.2
    clipped_objective(ratio, adv, eps).sum().backward()
    r, a = ratio.detach().numpy(), adv.numpy()
    flat = ((a > 0) & (r > 1 + eps)) | ((a < 0) & (r < 1 - eps))
    np.testing.assert_allclose(ratio.grad.numpy(), np.where(flat, 0.0, a), rtol=0, atol=0)
    assert flat.any() and (~flat).any()


def test_clipped_objective_bad_input():
    for eps in (0, -0.1, float("nan"), float("inf"), True, "0.2"):
        with pytest.raises(ValueError, match="eps"):
            clipped_objective(np.ones(3), np.ones(3), eps)
    with pytest.raises(ValueError, match="advantage must have the shape"):
        clipped_objective(np.ones(3), np.ones(2), 0.2)
    with pytest.raises(ValueError, match="ratio"):
        clipped_objective(np.array([1.0, -0.5]), np.ones(2), 0.2)
    with pytest.raises(ValueError, match="ratio"):
        clipped_objective(torch.tensor([1.0, float("nan")]), torch.ones(2), 0.2)
    with pytest.raises(ValueError, match="advantage"):
        clipped_objective(np.ones(2), np.array([1.0, np.nan]), 0.2)


@pytest.mark.parametrize("field, value", [
    ("clip_eps", 0.0), ("clip_eps", -0.2), ("lam", 1.5), ("lam", -0.1), ("gamma", 1.01),
    ("n_minibatches", 3), ("n_minibatches", 0), ("n_envs", 0), ("n_steps", 2.5),
    ("n_epochs", 0), ("lr", 0.0), ("kl_target", -1.0), ("beta_init", 0.0),
    ("target_kl", 0.0), ("vf_coef", -1.0), ("ent_coef", float("nan")),
    ("max_grad_norm", -0.5), ("method", "trust"), ("eval_every", -1),
    ("eval_episodes", 0), ("max_env_steps", 0),
])
def test_every_bad_config_is_a_value_error_naming_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        replace(Config(), **{field: value})


def test_bad_train_arguments():
    with pytest.raises(ValueError, match="config"):
        ppo.train(object(), progress=False)
    with pytest.raises(ValueError, match="seed"):
        ppo.train(Config(), seed=-1, progress=False)


SHORT = replace(Config(), max_env_steps=4096, target_return=None, eval_every=0)


def test_ppo_clip_improves_the_return_and_is_reproducible():
    state = torch.random.get_rng_state()
    threads = torch.get_num_threads()
    h1 = ppo.train(SHORT, seed=3, progress=False)
    h2 = ppo.train(SHORT, seed=3, progress=False)
    r = np.asarray(h1.episode_returns)
    assert r[-10:].mean() > 3 * r[:20].mean()  # from about 20 steps to well over 60
    assert h1.episode_returns == h2.episode_returns and h1.updates == h2.updates
    assert torch.equal(torch.random.get_rng_state(), state)  # no global RNG side effect
    assert torch.get_num_threads() == threads
    log = h1.updates
    n_updates = 4096 // (SHORT.n_envs * SHORT.n_steps)
    assert all(len(v) == n_updates for v in log.values())
    assert log["env_steps"] == [256 * (k + 1) for k in range(n_updates)]
    # annealing: lr falls linearly from lr to 0 over the budget; the clip range stays
    np.testing.assert_allclose(log["lr"], [3e-3 * (1 - 256 * k / 4096) for k in range(16)])
    assert set(log["clip_eps"]) == {0.2} and set(log["epochs"]) == {SHORT.n_epochs}
    assert all(0 <= c <= 1 for c in log["clip_frac"]) and max(log["clip_frac"]) > 0
    assert all(k >= 0 for k in log["kl_k3"]) and all(k >= 0 for k in log["kl_exact"])
    # the k3 estimate tracks the exact KL of the update (same batch of states)
    np.testing.assert_allclose(log["kl_k3"], log["kl_exact"], rtol=0.5, atol=2e-3)
    assert log["explained_variance"][-1] > 0.0
    assert all(0 < e <= np.log(2) + 1e-6 for e in log["entropy"])
    assert h1.wall_time > 0 and h1.eval_steps == [] and not h1.reached_target


def test_ppo_penalty_adapts_beta_by_the_rule():
    config = replace(SHORT, method="penalty", max_env_steps=2560, kl_target=0.005)
    h = ppo.train(config, seed=1, progress=False)
    beta, kl = h.updates["beta"], h.updates["kl_exact"]
    assert beta[0] == config.beta_init
    for k in range(len(beta) - 1):
        if kl[k] > 1.5 * config.kl_target:
            assert beta[k + 1] == 2 * beta[k]
        elif kl[k] < config.kl_target / 1.5:
            assert beta[k + 1] == beta[k] / 2
        else:
            assert beta[k + 1] == beta[k]
    assert len(set(beta)) > 1  # it did adapt
    r = np.asarray(h.episode_returns)
    assert r[-10:].mean() > 1.5 * r[:20].mean()


def test_early_stop_on_kl_and_clip_annealing():
    config = replace(SHORT, max_env_steps=1536, target_kl=0.002, anneal_clip=True,
                     anneal_lr=False)
    h = ppo.train(config, seed=0, progress=False)
    assert min(h.updates["epochs"]) < config.n_epochs  # some update stopped early
    np.testing.assert_allclose(h.updates["clip_eps"],
                               [0.2 * (1 - 256 * k / 1536) for k in range(6)])
    assert set(h.updates["lr"]) == {config.lr}


def test_value_clipping_changes_the_run():
    config = replace(SHORT, max_env_steps=1024)
    a = ppo.train(config, seed=0, progress=False)
    b = ppo.train(replace(config, clip_value=True), seed=0, progress=False)
    assert a.updates["value_loss"] != b.updates["value_loss"]


def test_greedy_evaluation_stops_training_at_the_target():
    config = replace(Config(), target_return=60.0, eval_every=500, max_env_steps=20_000)
    h = ppo.train(config, seed=0, progress=False)
    assert h.reached_target and h.steps_to_target == h.env_steps == h.eval_steps[-1]
    assert h.eval_returns[-1] >= 60.0 and all(s < 60.0 for s in h.eval_returns[:-1])
    # evaluations happen after the first update past each multiple of 500 steps
    assert h.eval_steps == sorted(set(h.eval_steps))
    assert all(s - 256 < 500 * (k + 1) <= s for k, s in enumerate(h.eval_steps[:1]))
    score = ppo.evaluate(h.policy, n_episodes=20, seed=config.eval_seed).mean()
    assert score == h.eval_returns[-1]  # the same deterministic evaluation


class _Counter(gym.Env):
    """Observation (t, 0), reward 1 per step; terminates after ``end`` steps if given."""

    observation_space = gym.spaces.Box(-np.inf, np.inf, (2,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self, end=None):
        self.end, self.t = end, 0

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.array([0.0, 0.0], dtype=np.float32), {}

    def step(self, action):
        self.t += 1
        terminated = self.end is not None and self.t >= self.end
        return np.array([self.t, 0.0], dtype=np.float32), 1.0, terminated, False, {}


gym.register("SprlPPOTruncated-v0", entry_point=_Counter, max_episode_steps=5)
gym.register("SprlPPOTerminated-v0", entry_point=_Counter, kwargs={"end": 5},
             max_episode_steps=50)


@pytest.mark.parametrize("env_id, truncates", [("SprlPPOTruncated-v0", True),
                                                ("SprlPPOTerminated-v0", False)])
def test_truncation_bootstraps_from_the_final_observation(monkeypatch, env_id, truncates):
    """At a time limit the reward passed to GAE is r + gamma V(s_final); at a termination r."""
    values, calls = [], []
    real_value_network, real_gae = ppo.ValueNetwork, ppo.gae

    def spy_value_network(*args, **kwargs):
        net = real_value_network(*args, **kwargs)
        values.append(net)
        return net

    def spy_gae(rewards, v, last, gamma, lam, dones):
        with torch.no_grad():
            v_final = values[0](torch.tensor([[5.0, 0.0]])).item()  # V(s_final), s_final = (5, 0)
        calls.append((rewards.copy(), dones.copy(), gamma * v_final))
        return real_gae(rewards, v, last, gamma, lam, dones=dones)

    monkeypatch.setattr(ppo, "ValueNetwork", spy_value_network)
    monkeypatch.setattr(ppo, "gae", spy_gae)
    config = replace(SHORT, env_id=env_id, n_envs=2, n_steps=12, n_minibatches=2,
                     max_env_steps=72)
    h = ppo.train(config, seed=0, progress=False)
    assert len(calls) == 3 and h.episode_returns == [5.0] * len(h.episode_returns)
    for rewards, dones, bootstrap in calls:
        ends = dones.copy()
        assert ends.sum() >= 4  # episodes of 5 steps in 12-step rollouts of 2 envs
        expect = np.where(ends, 1.0 + (bootstrap if truncates else 0.0), 1.0)
        np.testing.assert_allclose(rewards, expect, rtol=1e-6, atol=1e-6)
        assert abs(bootstrap) > 1e-3  # the bootstrap is not trivially zero
