"""Smoke tests of the training loops: they improve the return, are reproducible, check input."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from gymnasium.envs.classic_control.cartpole import CartPoleEnv

from sprl.rl import a2c, common, ppo, reinforce, trpo
from sprl.rl.common import History, env_seeds
from sprl.rl.policies import CategoricalPolicy


@pytest.mark.parametrize("algo", [reinforce, a2c], ids=["reinforce", "a2c"])
def test_training_improves_the_return_and_is_reproducible(algo):
    config = replace(algo.Config(), max_env_steps=5000, target_return=None)
    state = torch.random.get_rng_state()
    threads = torch.get_num_threads()
    h1 = algo.train(config, seed=3, progress=False)
    h2 = algo.train(config, seed=3, progress=False)
    r = np.asarray(h1.episode_returns)
    assert r[-20:].mean() > 2 * r[:20].mean()  # from about 20 to about 100 steps
    assert h1.episode_returns == h2.episode_returns  # deterministic under the seed
    assert h1.episode_steps == sorted(h1.episode_steps) and h1.episode_steps[-1] <= h1.env_steps
    assert h1.env_steps >= 5000 and not h1.reached_target and h1.wall_time > 0
    assert torch.equal(torch.random.get_rng_state(), state)  # no global RNG side effect
    assert torch.get_num_threads() == threads
    assert h1.moving_average(20).shape == r.shape


def test_target_stops_training():
    h = reinforce.train(replace(reinforce.Config(), target_return=15.0, window=5), seed=0,
                        progress=False)
    assert h.reached_target and h.steps_to_target == h.env_steps
    assert np.mean(h.episode_returns[-5:]) >= 15.0


def test_moving_average():
    h = History(episode_returns=[1.0, 2.0, 3.0, 4.0])
    np.testing.assert_allclose(h.moving_average(2), [1.0, 1.5, 2.5, 3.5])


def test_bad_configs():
    with pytest.raises(ValueError, match="gamma"):
        reinforce.train(replace(reinforce.Config(), gamma=1.5), progress=False)
    with pytest.raises(ValueError, match="gamma"):
        a2c.train(replace(a2c.Config(), gamma=-0.1), progress=False)
    with pytest.raises(ValueError, match="lam"):
        a2c.train(replace(a2c.Config(), lam=2.0), progress=False)
    with pytest.raises(ValueError, match="n_envs"):
        a2c.train(replace(a2c.Config(), n_envs=0), progress=False)
    with pytest.raises(ValueError, match="episodes_per_batch"):
        reinforce.train(replace(reinforce.Config(), episodes_per_batch=0), progress=False)
    with pytest.raises(ValueError, match="config"):
        a2c.train(reinforce.Config(), progress=False)
    with pytest.raises(ValueError, match="seed"):
        reinforce.train(reinforce.Config(), seed=-1, progress=False)


# ------------------------------------------------------------- environment seeds


def test_env_seeds_are_the_documented_seedsequence_draws():
    # a second way to the same numbers: the spawn key of child i is (i,)
    for seed in (0, 1, 7, 123_456):
        expected = [2**32 + int(np.random.SeedSequence(seed, spawn_key=(i,))
                                .generate_state(1, dtype=np.uint32)[0]) for i in range(5)]
        assert env_seeds(seed, 5) == expected
    assert env_seeds(3, 8) == env_seeds(3, 8)  # deterministic
    assert env_seeds(3, 8)[:4] == env_seeds(3, 4)  # environment i's seed does not depend on n
    assert all(type(s) is int for s in env_seeds(0, 3))  # gymnasium wants Python ints


def test_env_seeds_of_different_runs_never_overlap_nor_meet_evaluation_seeds():
    n = 16
    sets = [set(env_seeds(seed, n)) for seed in range(100)]
    assert all(len(s) == n for s in sets)
    union = set().union(*sets)
    assert len(union) == 100 * n  # seeds 0..99: pairwise disjoint
    evaluation = set(range(10_000, 10_020)) | set(range(1_000_000, 1_000_020))
    assert not union & evaluation  # common.evaluate's and PPO's evaluation seeds
    assert min(union) >= common.TRAIN_SEED_MIN and max(union) < 2 * common.TRAIN_SEED_MIN
    # the old scheme (seed, seed + 1, ...) shared n - 1 streams between seeds 0 and 1
    assert len({*range(n)} & {*range(1, n + 1)}) == n - 1


def test_env_seeds_and_evaluation_seeds_reject_bad_input():
    for seed, n, name in [(-1, 4, "seed"), (1.5, 4, "seed"), ("0", 4, "seed"),
                          (True, 4, "seed"), (0, 0, "n"), (0, 2.5, "n")]:
        with pytest.raises(ValueError, match=f"^{name} must"):
            env_seeds(seed, n)
    policy = CategoricalPolicy(4, 2, (8,))
    with pytest.raises(ValueError, match="^seed must be <= 4294967276"):
        common.evaluate(policy, n_episodes=20, seed=2**32 - 19)  # would reach 2**32
    with pytest.raises(ValueError, match="^eval_seed must be <="):
        ppo.Config(eval_seed=2**32 - 1)


_BRIEF = {
    reinforce: dict(max_env_steps=50),
    a2c: dict(max_env_steps=4 * 32),
    ppo: dict(max_env_steps=8 * 32, eval_every=0),
    trpo: dict(max_env_steps=4 * 128),
}


@pytest.mark.parametrize("algo", list(_BRIEF), ids=lambda m: m.__name__.split(".")[-1])
def test_train_seeds_its_environments_from_env_seeds_disjoint_across_seeds(algo, monkeypatch):
    """Spy on CartPole's reset: the seeds each run passes are env_seeds(seed, n),
    and the runs with seeds 0 and 1 share none (the old seed + i scheme shared 3 of 4)."""
    real = CartPoleEnv.reset
    seen = []

    def spy(self, *, seed=None, options=None):
        if seed is not None:
            seen[-1].append(seed)
        return real(self, seed=seed, options=options)

    monkeypatch.setattr(CartPoleEnv, "reset", spy)
    config = replace(algo.Config(), target_return=None, **_BRIEF[algo])
    n = config.episodes_per_batch if algo is reinforce else config.n_envs
    for seed in (0, 1):
        seen.append([])
        algo.train(config, seed=seed, progress=False)
    assert seen == [env_seeds(0, n), env_seeds(1, n)]  # each environment seeded once
    assert not set(seen[0]) & set(seen[1])
