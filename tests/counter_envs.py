"""A tiny environment whose rollouts can be worked out by hand (PPO and TRPO tests).

Observation ``(t, 0)`` after ``t`` steps, reward 1 per step (or ``t`` at step
``t`` with ``reward_is_t``); it terminates after ``end`` steps if ``end`` is
given.  Registered three times: cut by a time limit at 5 steps (truncation),
ending by itself at step 5 (termination), and with rewards 1, 2, 3, ... cut at
100 steps.
"""

import gymnasium as gym
import numpy as np


class Counter(gym.Env):
    observation_space = gym.spaces.Box(-np.inf, np.inf, (2,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self, end=None, reward_is_t=False):
        self.end, self.t, self.reward_is_t = end, 0, reward_is_t

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.array([0.0, 0.0], dtype=np.float32), {}

    def step(self, action):
        self.t += 1
        terminated = self.end is not None and self.t >= self.end
        reward = float(self.t) if self.reward_is_t else 1.0
        return np.array([self.t, 0.0], dtype=np.float32), reward, terminated, False, {}


TRUNCATED = "SprlCounterTruncated-v0"
TERMINATED = "SprlCounterTerminated-v0"
STEPS = "SprlCounterSteps-v0"
if TRUNCATED not in gym.registry:
    gym.register(TRUNCATED, entry_point=Counter, max_episode_steps=5)
    gym.register(TERMINATED, entry_point=Counter, kwargs={"end": 5}, max_episode_steps=50)
    gym.register(STEPS, entry_point=Counter, kwargs={"reward_is_t": True},
                 max_episode_steps=100)
