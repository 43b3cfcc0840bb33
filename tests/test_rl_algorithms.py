"""The steps of A2C and REINFORCE, each on its own, against hand-computed values.

A tiny deterministic environment (rewards 1, 2, 3, ... within an episode, an
optional termination and a time limit) makes every advantage, target and
bootstrap computable by hand, for termination and truncation both.  The
wiring of ``train`` (what the next iteration starts from, what it bootstraps,
which advantages reach the policy step) is checked by spying on the step
functions.

Each of these hand-applied mutations of ``sprl.rl`` fails a test here (tried
2026-12-04, 16 of 16): A2C -- the truncation bootstrap removed, or its gamma
dropped; the critic target ``adv`` for ``adv + v``; the entropy bonus's sign;
the next rollout restarting from the last one's first state; truncation not
ending the episode; truncation treated as termination; a bootstrap from
``final_obs`` on termination; a bootstrap from V(s_{n-1}) instead of the final
state.  REINFORCE -- the whole-episode return for the reward-to-go; gamma
dropped; the reward-to-go off by one; the baseline removed (with and without
normalisation); the same reset seeds every batch; truncation not ending the
episode.
"""

from dataclasses import replace

import gymnasium as gym
import numpy as np
import pytest
import torch

from sprl.rl import a2c, reinforce
from sprl.rl.common import History, env_seeds
from sprl.rl.policies import CategoricalPolicy


class CounterEnv(gym.Env):
    """Observation (t, last action); reward t at step t (1, 2, 3, ...);
    terminates after ``end`` steps (never if ``end`` is None)."""

    observation_space = gym.spaces.Box(-np.inf, np.inf, (2,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self, end=None):
        self.end, self.t = end, 0

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.array([0.0, self.np_random.random()], dtype=np.float32), {}

    def step(self, action):
        self.t += 1
        terminated = self.end is not None and self.t >= self.end
        obs = np.array([self.t, action], dtype=np.float32)
        return obs, float(self.t), terminated, False, {}


gym.register("SprlCounter-v0", entry_point=CounterEnv, max_episode_steps=100)


def _vec(n_envs=2, **kwargs):
    return gym.make_vec("SprlCounter-v0", num_envs=n_envs, vectorization_mode="sync",
                        vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP},
                        **kwargs)


def _rollout(n_steps, **kwargs):
    envs = _vec(**kwargs)
    obs, _ = envs.reset(seed=0)
    policy = CategoricalPolicy(2, 2, (8,))
    history = History()
    roll = a2c.collect_rollout(envs, policy, obs, n_steps, torch.Generator().manual_seed(0),
                               history, np.zeros(2))
    return roll, history


# ------------------------------------------------------------------------- A2C


def test_rollout_termination_resets_without_bootstrap():
    roll, history = _rollout(5, end=3)
    np.testing.assert_array_equal(roll.rewards[:, 0], [1, 2, 3, 1, 2])
    np.testing.assert_array_equal(roll.dones[:, 0], [False, False, True, False, False])
    assert roll.final_obs == []  # a terminated episode is never bootstrapped
    assert roll.obs[3, 0, 0] == 0.0 and roll.obs[2, 0, 0] == 2.0  # s_3: the new first state
    assert history.episode_returns == [6.0, 6.0] and history.env_steps == 10


def test_rollout_truncation_ends_the_episode_and_keeps_the_last_observation():
    roll, history = _rollout(5, max_episode_steps=3)
    np.testing.assert_array_equal(roll.dones[:, 1], [False, False, True, False, False])
    assert roll.truncated_t == [2, 2] and roll.truncated_env == [0, 1]
    assert [float(o[0]) for o in roll.final_obs] == [3.0, 3.0]  # the real s_3, not the reset
    assert roll.obs[3, 1, 0] == 0.0
    assert history.episode_returns == [6.0, 6.0]


def test_advantages_and_targets_by_hand():
    # one environment; a time-limit truncation at t = 1 with V(s_final) = 5
    rewards = np.array([[1.0], [2.0], [3.0]])
    values = np.array([[1.0], [2.0], [3.0], [4.0]])  # V(s_0) .. V(s_3)
    dones = np.array([[False], [True], [False]])
    bootstrap = np.array([[0.0], [5.0], [0.0]])
    adv, ret = a2c.advantages_and_targets(rewards, values, dones, bootstrap, 0.9, 1.0)
    # t=2: 3 + 0.9*4 - 3; t=1: 2 + 0.9*5 - 2 (no carry across the end);
    # t=0: (1 + 0.9*2 - 1) + 0.9 * 4.5
    np.testing.assert_allclose(adv[:, 0], [5.85, 4.5, 3.6])
    np.testing.assert_allclose(ret[:, 0], [6.85, 6.5, 6.6])  # R = A + V
    adv0, _ = a2c.advantages_and_targets(rewards, values, dones, bootstrap, 0.9, 0.0)
    np.testing.assert_allclose(adv0[:, 0], [1.8, 4.5, 3.6])  # lam = 0: the TD errors


def test_entropy_bonus_raises_the_entropy():
    torch.manual_seed(0)
    policy = CategoricalPolicy(2, 3, (8,))
    obs, actions = torch.randn(16, 2), torch.randint(0, 3, (16,))
    zero = torch.zeros(16)
    assert a2c.actor_loss(policy, obs, actions, zero, 0.5).item() == pytest.approx(
        -0.5 * policy.entropy(obs).mean().item())
    before = policy.entropy(obs).mean().item()
    opt = torch.optim.SGD(policy.parameters(), lr=0.5)
    a2c.actor_loss(policy, obs, actions, zero, 0.5).backward()
    opt.step()
    assert policy.entropy(obs).mean().item() > before


def test_actor_loss_is_minus_the_advantage_weighted_log_likelihood():
    torch.manual_seed(1)
    policy = CategoricalPolicy(2, 2, (8,))
    obs, actions, adv = torch.randn(5, 2), torch.tensor([0, 1, 1, 0, 1]), torch.randn(5)
    expected = -(adv * policy.log_prob(obs, actions)).mean()
    assert a2c.actor_loss(policy, obs, actions, adv).item() == pytest.approx(expected.item())


def test_critic_loss_holds_the_targets_fixed():
    value = torch.nn.Linear(2, 1)
    critic = lambda x: value(x).squeeze(-1)  # noqa: E731
    obs, targets = torch.randn(4, 2), torch.randn(4, requires_grad=True)
    loss = a2c.critic_loss(critic, obs, targets.detach())
    assert loss.item() == pytest.approx(0.5 * ((critic(obs) - targets) ** 2).mean().item())
    loss.backward()
    assert targets.grad is None and value.weight.grad is not None


def test_each_rollout_starts_where_the_last_ended(monkeypatch):
    calls = []
    real = a2c.collect_rollout

    def spy(envs, policy, obs, *args):
        roll = real(envs, policy, obs, *args)
        calls.append((torch.as_tensor(obs).clone(), roll.obs[-1].clone()))
        return roll

    monkeypatch.setattr(a2c, "collect_rollout", spy)
    a2c.train(replace(a2c.Config(), max_env_steps=3 * 4 * 32, target_return=None),
              seed=0, progress=False)
    assert len(calls) == 3
    for (_, end), (start, _) in zip(calls, calls[1:]):
        assert torch.equal(start, end)


def _record(monkeypatch, module, name):
    """Replace ``module.name`` by a wrapper that keeps every value it returns
    (e.g. the critic ``train`` builds, each rollout); return that list."""
    results = []
    real = getattr(module, name)

    def wrapper(*args, **kwargs):
        results.append(real(*args, **kwargs))
        return results[-1]

    monkeypatch.setattr(module, name, wrapper)
    return results


def test_truncated_episodes_bootstrap_from_the_critic_at_the_final_state(monkeypatch):
    # the counter env is cut at 100 steps: rollout 4 (steps 97-128) holds the cut
    critics = _record(monkeypatch, a2c, "ValueNetwork")
    rolls = _record(monkeypatch, a2c, "collect_rollout")
    seen = []
    real_targets = a2c.advantages_and_targets

    def targets_spy(rewards, values, dones, bootstrap, gamma, lam):
        roll = rolls[-1]
        with torch.no_grad():  # the critic before this iteration's step
            v_final = (critics[0](torch.as_tensor(np.stack(roll.final_obs))).numpy()
                       if roll.final_obs else np.zeros(0))
        seen.append((roll, np.array(bootstrap), v_final))
        return real_targets(rewards, values, dones, bootstrap, gamma, lam)

    monkeypatch.setattr(a2c, "advantages_and_targets", targets_spy)
    config = replace(a2c.Config(), env_id="SprlCounter-v0", n_envs=2,
                     max_env_steps=4 * 2 * 32, target_return=None)
    a2c.train(config, seed=0, progress=False)
    cut = [(roll, b, v) for roll, b, v in seen if roll.final_obs]
    assert len(cut) == 1  # both environments are cut at step 100, once
    roll, bootstrap, v_final = cut[0]
    where = (roll.truncated_t, roll.truncated_env)
    np.testing.assert_allclose(bootstrap[where], v_final, rtol=1e-6)
    assert np.abs(v_final).min() > 0  # an untrained critic: a zero would hide a dropped term
    bootstrap[where] = 0.0
    assert not bootstrap.any()  # and nowhere else


# -------------------------------------------------------------------- REINFORCE


def test_reward_to_go_by_hand():
    ep_obs = [[np.zeros(2), np.ones(2), 2 * np.ones(2)], [3 * np.ones(2)]]
    ep_act = [[0, 1, 1], [0]]
    ep_rew = [[1.0, 2.0, 3.0], [4.0]]
    obs, act, ret = reinforce.episodes_to_batch(ep_obs, ep_act, ep_rew, 0.5)
    # R_0 = 1 + 0.5*2 + 0.25*3, R_1 = 2 + 0.5*3, R_2 = 3; the second episode: 4
    np.testing.assert_allclose(ret.numpy(), [2.75, 3.5, 3.0, 4.0])
    np.testing.assert_array_equal(act.numpy(), [0, 1, 1, 0])
    np.testing.assert_array_equal(obs[:, 0].numpy(), [0, 1, 2, 3])


def test_baseline_advantages_by_hand():
    ret, v = torch.tensor([1.0, 2.0, 3.0]), torch.tensor([0.5, 0.5, 1.0])
    np.testing.assert_allclose(reinforce.baseline_advantages(ret, v, False).numpy(),
                               [0.5, 1.5, 2.0])
    a = reinforce.baseline_advantages(ret, v, True).numpy()
    raw = np.array([0.5, 1.5, 2.0])
    np.testing.assert_allclose(a, (raw - raw.mean()) / (raw.std(ddof=1) + 1e-8), rtol=1e-6)
    one = reinforce.baseline_advantages(torch.tensor([2.0]), torch.tensor([0.5]), True)
    assert one.item() == 1.5  # a batch of one step is left as it is


def test_play_episodes_plays_every_episode_to_its_end():
    envs = [gym.make("SprlCounter-v0", end=e) for e in (2, 4)]
    policy = CategoricalPolicy(2, 2, (8,))
    history = History()
    ep_obs, ep_act, ep_rew = reinforce.play_episodes(envs, policy, torch.Generator(), history,
                                                     reset_seeds=[1, 2])
    assert [len(r) for r in ep_rew] == [2, 4]
    assert history.episode_returns == [3.0, 10.0] and history.env_steps == 6
    assert [float(o[0]) for o in ep_obs[1]] == [0.0, 1.0, 2.0, 3.0]  # s_t before a_t


@pytest.mark.timeout(30)
def test_play_episodes_ends_an_episode_at_the_time_limit():
    # never terminates; the time limit cuts it at 5 steps (CartPole's cut is 500)
    envs = [gym.make("SprlCounter-v0", end=None, max_episode_steps=5)]
    history = History()
    _, _, ep_rew = reinforce.play_episodes(envs, CategoricalPolicy(2, 2, (8,)),
                                           torch.Generator(), history, reset_seeds=[0])
    assert ep_rew == [[1.0, 2.0, 3.0, 4.0, 5.0]]
    assert history.episode_returns == [15.0] and history.env_steps == 5


def test_only_the_first_batch_seeds_the_resets(monkeypatch):
    seeds = []
    real = reinforce.play_episodes

    def spy(envs, policy, generator, history, reset_seeds=None):
        seeds.append(reset_seeds)
        return real(envs, policy, generator, history, reset_seeds)

    monkeypatch.setattr(reinforce, "play_episodes", spy)
    reinforce.train(replace(reinforce.Config(), max_env_steps=300, target_return=None),
                    seed=2, progress=False)
    assert seeds[0] == env_seeds(2, 4)  # the SeedSequence streams of seed 2, once
    assert len(seeds) > 1 and all(s is None for s in seeds[1:])


@pytest.mark.parametrize("normalize", [False, True])
def test_the_policy_step_uses_returns_minus_the_baseline(monkeypatch, normalize):
    critics = _record(monkeypatch, reinforce, "ValueNetwork")
    batches = _record(monkeypatch, reinforce, "episodes_to_batch")
    used = []
    real_loss = reinforce.pseudo_loss

    def loss_spy(log_prob, advantages):
        obs, _, ret = batches[-1]
        with torch.no_grad():  # the baseline before this iteration's critic steps
            used.append((advantages.clone(), ret - critics[0](obs)))
        return real_loss(log_prob, advantages)

    monkeypatch.setattr(reinforce, "pseudo_loss", loss_spy)
    config = replace(reinforce.Config(), max_env_steps=300, target_return=None,
                     normalize_advantages=normalize)
    reinforce.train(config, seed=0, progress=False)
    assert len(used) > 1
    for advantages, raw in used:
        if normalize:
            raw = (raw - raw.mean()) / (raw.std() + 1e-8)
        np.testing.assert_allclose(advantages.numpy(), raw.numpy(), rtol=1e-5, atol=1e-6)
