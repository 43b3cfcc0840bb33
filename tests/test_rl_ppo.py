"""Tests of sprl.rl.ppo: the clipped objective, the config checks, each step of an
iteration against hand-computed values, and short training runs.

Mutations applied by hand (2026-12-04), each failing at least one test here: critic
target adv instead of adv + V; gamma dropped from the truncation bootstrap; the bootstrap
removed; a bootstrap from final_obs on termination; truncation not ending the episode;
max instead of min in L^CLIP; the entropy bonus's sign; the penalty's KL reversed; value
clipping with min; minibatches drawn with replacement; early stop on k1, or on the reversed
KL; beta factor 1.5 instead of 2; the next rollout restarting from the previous first
state; the ratio inverted; no advantage normalisation; the un-annealed clip range used.
"""

from dataclasses import replace

import gymnasium as gym
import numpy as np
import pytest
import torch

from sprl.rl import ppo
from sprl.rl.ppo import Config, clipped_objective

from counter_envs import STEPS, TERMINATED, TRUNCATED  # tests/counter_envs.py


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




@pytest.mark.parametrize("env_id, truncates", [(TRUNCATED, True),
                                                (TERMINATED, False)])
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


# ------------------------------------------- the steps of one iteration, by hand
# (issue 12: test the algorithm, not only its outcome)




def _roll(n_steps, **kwargs):
    envs = gym.make_vec(STEPS, num_envs=2, vectorization_mode="sync",
                        vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP},
                        **kwargs)
    obs, _ = envs.reset(seed=0)
    history = ppo.History()
    roll = ppo.collect_rollout(envs, ppo.CategoricalPolicy(2, 2, (8,)), obs, n_steps,
                               torch.Generator().manual_seed(0), history, np.zeros(2))
    return roll, history


def test_rollout_termination_is_not_bootstrapped_truncation_is():
    roll, history = _roll(5, end=3)  # terminates after 3 steps
    np.testing.assert_array_equal(roll.rewards[:, 0], [1, 2, 3, 1, 2])
    np.testing.assert_array_equal(roll.dones[:, 1], [False, False, True, False, False])
    assert roll.final_obs == [] and roll.truncated_t == []
    assert roll.obs[3, 0, 0] == 0.0  # s_3 is the new episode's first state
    assert history.episode_returns == [6.0, 6.0] and history.env_steps == 10
    roll, history = _roll(5, max_episode_steps=3)  # cut by a time limit after 3 steps
    np.testing.assert_array_equal(roll.dones[:, 0], [False, False, True, False, False])
    assert roll.truncated_t == [2, 2] and roll.truncated_env == [0, 1]
    assert [float(o[0]) for o in roll.final_obs] == [3.0, 3.0]  # the real s_3
    assert roll.obs[3, 0, 0] == 0.0 and history.episode_returns == [6.0, 6.0]


def test_advantages_and_targets_by_hand_truncation_and_termination():
    rewards = np.array([[1.0], [2.0], [3.0]])
    values = np.array([[1.0], [2.0], [3.0], [4.0]])  # V(s_0) .. V(s_3)
    dones = np.array([[False], [True], [False]])  # the episode ends at t = 1
    gamma, lam = 0.9, 0.5
    # truncation at t = 1 with V(s_final) = 5: delta_1 = 2 + 0.9*5 - 2 = 4.5;
    # delta_2 = 3 + 0.9*4 - 3 = 3.6; delta_0 = 1 + 0.9*2 - 1 = 1.8;
    # A_0 = 1.8 + 0.9*0.5*4.5 = 3.825 (no carry from t = 2 across the end)
    adv, ret = ppo.advantages_and_targets(rewards, values, dones,
                                          np.array([[0.0], [5.0], [0.0]]), gamma, lam)
    assert adv.dtype == ret.dtype == torch.float32 and adv.shape == (3, 1)
    np.testing.assert_allclose(adv[:, 0], [3.825, 4.5, 3.6], rtol=1e-6)
    np.testing.assert_allclose(ret[:, 0], [4.825, 6.5, 6.6], rtol=1e-6)  # R = A + V
    # termination at t = 1: nothing is bootstrapped, delta_1 = 2 - 2 = 0
    adv, ret = ppo.advantages_and_targets(rewards, values, dones, np.zeros((3, 1)),
                                          gamma, lam)
    np.testing.assert_allclose(adv[:, 0], [1.8, 0.0, 3.6], rtol=1e-6)
    np.testing.assert_allclose(ret[:, 0], [2.8, 2.0, 6.6], rtol=1e-6)


def test_minibatches_partition_the_batch_every_epoch():
    gen = torch.Generator().manual_seed(0)
    epochs = [ppo.minibatches(24, 4, gen) for _ in range(3)]
    for parts in epochs:
        assert [len(p) for p in parts] == [6] * 4
        assert sorted(torch.cat(parts).tolist()) == list(range(24))  # each sample once
    assert not torch.equal(torch.cat(epochs[0]), torch.cat(epochs[1]))  # reshuffled


# four samples, two actions, pi_old = (1/2, 1/2), action 0 taken everywhere;
# pi_theta(0 | s) = 1/4, 3/4, 1/4, 3/4: ratios 0.5, 1.5, 0.5, 1.5
_OLD = torch.log(torch.full((4, 2), 0.5))
_NEW = torch.log(torch.tensor([[0.25, 0.75], [0.75, 0.25]] * 2))
_ACT = torch.zeros(4, dtype=torch.long)
_ADV = torch.tensor([1.0, 1.0, -1.0, -2.0])


def test_policy_loss_clip_by_hand_min_not_max():
    loss, sur = ppo.policy_loss(_NEW, _OLD, _ACT, _ADV, "clip", 0.2,
                                normalize_advantages=False)
    # min(rho A, clip(rho) A) = 0.5, 1.2, -0.8, -3.0: mean -0.525, loss +0.525
    assert loss.item() == pytest.approx(0.525) and sur.item() == pytest.approx(0.525)
    # with advantages standardised over the minibatch (torch's unbiased std)
    a = (_ADV - _ADV.mean()) / (_ADV.std() + 1e-8)
    rho = torch.tensor([0.5, 1.5, 0.5, 1.5])
    expect = -torch.minimum(rho * a, rho.clamp(0.8, 1.2) * a).mean()
    loss, _ = ppo.policy_loss(_NEW, _OLD, _ACT, _ADV, "clip", 0.2)
    assert loss.item() == pytest.approx(expect.item())


def test_policy_loss_gradient_pushes_the_ratio_up_for_positive_advantages():
    z = torch.zeros(2, 2, requires_grad=True)  # pi_theta = pi_old = (1/2, 1/2)
    logp = torch.log_softmax(z, dim=-1)
    loss, _ = ppo.policy_loss(logp, logp.detach(), _ACT[:2], torch.tensor([1.0, -1.0]),
                              normalize_advantages=False)
    loss.backward()
    # d loss / d z[b, 0] = -A_b * (1 - 1/2) / 2 (mean over two samples)
    np.testing.assert_allclose(z.grad.numpy(), [[-0.25, 0.25], [0.25, -0.25]], atol=1e-7)


def test_policy_loss_penalty_by_hand_kl_old_to_new():
    beta = 3.0
    loss, _ = ppo.policy_loss(_NEW, _OLD, _ACT, _ADV, "penalty", beta=beta,
                              normalize_advantages=False)
    # rho A = 0.5, 1.5, -0.5, -3.0: mean -0.375; KL(pi_old || pi_theta) per state
    # = 0.5 log(0.5/0.25) + 0.5 log(0.5/0.75) = 0.5 log(4/3) (the reverse KL is 0.1308)
    assert loss.item() == pytest.approx(0.375 + beta * 0.5 * np.log(4 / 3))


def test_entropy_bonus_is_subtracted_and_raises_the_entropy():
    loss, sur = ppo.policy_loss(_NEW, _OLD, _ACT, _ADV, ent_coef=0.1,
                                normalize_advantages=False)
    h = -(0.25 * np.log(0.25) + 0.75 * np.log(0.75))  # H(pi_theta) at every state
    assert (loss - sur).item() == pytest.approx(-0.1 * h)
    z = torch.tensor([[2.0, -1.0], [0.5, 0.0]], requires_grad=True)
    entropy = lambda: -(z.softmax(-1) * z.log_softmax(-1)).sum(-1).mean()  # noqa: E731
    before = entropy().item()
    logp = torch.log_softmax(z, dim=-1)
    loss, _ = ppo.policy_loss(logp, logp.detach(), _ACT[:2], torch.zeros(2), ent_coef=1.0)
    loss.backward()
    with torch.no_grad():
        z -= 0.1 * z.grad
    assert entropy().item() > before


def test_value_loss_by_hand_clipping_takes_the_max():
    v_new = torch.tensor([1.0, 3.0], requires_grad=True)
    v_old, targets = torch.tensor([2.0, 2.0]), torch.tensor([0.0, 0.0])
    assert ppo.value_loss(v_new, v_old, targets).item() == pytest.approx(0.5 * (1 + 9) / 2)
    loss = ppo.value_loss(v_new, v_old, targets, clip_eps=0.5)
    # clipped values 1.5 and 2.5: errors 2.25 and 6.25; the max with 1 and 9: 2.25, 9
    assert loss.item() == pytest.approx(0.5 * (2.25 + 9) / 2)
    loss.backward()  # sample 0: the clipped (flat) term binds; sample 1: v_new / 2
    np.testing.assert_allclose(v_new.grad.numpy(), [0.0, 1.5])


def test_kl_early_stop_uses_k3_of_kl_old_to_new():
    old, new = torch.log(torch.tensor([0.5])), torch.log(torch.tensor([0.25]))
    # r = pi_theta / pi_old = 1/2: k3 = (r - 1) - log r = 0.1931; k1 = 0.693;
    # the reversed direction (r = 2) gives 1 - log 2 = 0.3069
    assert not ppo.kl_early_stop(old, new, 0.16)  # 0.1931 < 1.5 * 0.16 = 0.24
    assert ppo.kl_early_stop(old, new, 0.12)  # 0.1931 > 0.18
    assert not ppo.kl_early_stop(old, new, None)
    assert not ppo.kl_early_stop(old, old, 1e-12)  # same policy: KL 0


@pytest.mark.parametrize("kl, expect", [
    (0.016, 2.0), (0.015, 1.0), (0.0151, 2.0), (0.01, 1.0), (0.007, 1.0), (0.006, 0.5),
])
def test_adapt_beta_schulman_rule(kl, expect):
    # d_targ = 0.01: double above 0.015, halve below 0.00667, else keep (beta = 1)
    assert ppo.adapt_beta(1.0, kl, 0.01) == expect


def test_train_runs_the_steps_in_order(monkeypatch):
    """Each rollout starts where the last ended; the losses get the annealed clip range."""
    rolls, eps_seen = [], []
    real_roll, real_loss = ppo.collect_rollout, ppo.policy_loss

    def spy_roll(envs, policy, obs, *args):
        roll = real_roll(envs, policy, obs, *args)
        rolls.append((torch.as_tensor(obs).clone(), roll.obs[-1].clone()))
        return roll

    def spy_loss(*args):
        eps_seen.append(args[5])
        return real_loss(*args)

    monkeypatch.setattr(ppo, "collect_rollout", spy_roll)
    monkeypatch.setattr(ppo, "policy_loss", spy_loss)
    config = replace(SHORT, max_env_steps=768, anneal_clip=True)
    h = ppo.train(config, seed=0, progress=False)
    assert len(rolls) == 3
    for (_, end), (start, _) in zip(rolls, rolls[1:]):
        assert torch.equal(start, end)
    assert len(eps_seen) == 3 * config.n_epochs * config.n_minibatches
    assert sorted(set(eps_seen), reverse=True) == h.updates["clip_eps"]
