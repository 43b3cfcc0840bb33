"""Smoke tests of the training loops: they improve the return, are reproducible, check input."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from sprl.rl import a2c, reinforce
from sprl.rl.common import History


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
