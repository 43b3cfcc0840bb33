"""Tests of sprl.rl.returns: discounted sums, reward-to-go and GAE against naive loops.

Mutations applied by hand (2026-12-04), each failing at least one test here: the sign of
gamma in the filter of discounted_cumsum; gamma dropped from the TD residual; the dones
ignored in the TD residual; last_value not bootstrapped; GAE without dones discounting
by lambda alone; gamma dropped from the recursion with dones; the dones ignored in the
recursion; the recursion reading dones[t - 1] (off by one); discounted_cumsum's output
not reversed back; V(s_t) in place of V(s_{t+1}) in the TD residual; reward_to_go
ignoring gamma.  All were caught by the tests as they stood; the mutations of
n_step_advantages and exact_gae_moments are listed in test_rl_gae.py.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sprl.rl.returns import discounted_cumsum, gae, reward_to_go

finite = st.floats(-100, 100, allow_nan=False, allow_infinity=False)
unit = st.floats(0.0, 1.0)


def naive_cumsum(x, gamma):
    out = np.zeros(len(x))
    for t in range(len(x)):
        out[t] = sum(gamma ** (k - t) * x[k] for k in range(t, len(x)))
    return out


def naive_gae(r, v, last, gamma, lam, dones):
    T = len(r)
    adv = np.zeros(T)
    for t in range(T):
        total, weight = 0.0, 1.0
        for k in range(t, T):  # A_t = sum_k (gamma lam)^{k-t} delta_k, cut at the first done
            nxt = last if k + 1 == T else v[k + 1]
            delta = r[k] + gamma * (0.0 if dones[k] else nxt) - v[k]
            total += weight * delta
            if dones[k]:
                break
            weight *= gamma * lam
        adv[t] = total
    return adv


@settings(max_examples=60, deadline=None)
@given(arrays(float, st.integers(1, 30), elements=finite), unit)
def test_discounted_cumsum_matches_loop(x, gamma):
    np.testing.assert_allclose(discounted_cumsum(x, gamma), naive_cumsum(x, gamma),
                               rtol=1e-9, atol=1e-9)


@settings(max_examples=30, deadline=None)
@given(arrays(float, (12, 3), elements=finite), unit)
def test_discounted_cumsum_runs_along_axis_0(x, gamma):
    got = discounted_cumsum(x, gamma)
    for j in range(3):
        np.testing.assert_allclose(got[:, j], naive_cumsum(x[:, j], gamma), rtol=1e-9, atol=1e-9)


def test_reward_to_go_default_is_undiscounted():
    r = np.array([1.0, -2.0, 3.0, 0.5])
    np.testing.assert_allclose(reward_to_go(r), np.cumsum(r[::-1])[::-1])
    np.testing.assert_allclose(reward_to_go(r, 0.0), r)


def test_discounted_cumsum_exact_values():
    np.testing.assert_allclose(discounted_cumsum([1.0, 1.0, 1.0], 0.5), [1.75, 1.5, 1.0])
    assert discounted_cumsum(np.zeros(0), 0.9).shape == (0,)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 20).flatmap(lambda T: st.tuples(
    arrays(float, T, elements=finite), arrays(float, T, elements=finite),
    finite, unit, unit, arrays(bool, T))))
def test_gae_matches_loop(args):
    r, v, last, gamma, lam, dones = args
    np.testing.assert_allclose(gae(r, v, last, gamma, lam, dones),
                               naive_gae(r, v, last, gamma, lam, dones), rtol=1e-8, atol=1e-8)
    no_done = np.zeros_like(dones)
    np.testing.assert_allclose(gae(r, v, last, gamma, lam),
                               naive_gae(r, v, last, gamma, lam, no_done), rtol=1e-8, atol=1e-8)


def test_gae_special_cases():
    rng = np.random.default_rng(0)
    r, v = rng.normal(size=(7, 4)), rng.normal(size=(7, 4))
    last = rng.normal(size=4)
    gamma = 0.9
    # lam = 0: the one-step TD error r + gamma V(s') - V(s)
    nxt = np.vstack([v[1:], last])
    np.testing.assert_allclose(gae(r, v, last, gamma, 0.0), r + gamma * nxt - v)
    # lam = 1: the bootstrapped n-step return minus V(s_t)
    padded = np.vstack([r, last])
    np.testing.assert_allclose(gae(r, v, last, gamma, 1.0),
                               discounted_cumsum(padded, gamma)[:-1] - v, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("gamma", [-0.1, 1.5, np.nan, "a", [0.5, 0.6]])
def test_bad_gamma(gamma):
    with pytest.raises(ValueError, match="gamma"):
        discounted_cumsum([1.0, 2.0], gamma)
    with pytest.raises(ValueError, match="gamma"):
        reward_to_go([1.0, 2.0], gamma)
    with pytest.raises(ValueError, match="gamma"):
        gae([1.0], [0.0], 0.0, gamma, 0.5)


@pytest.mark.parametrize("lam", [-0.01, 1.01, np.nan])
def test_bad_lam(lam):
    with pytest.raises(ValueError, match="lam"):
        gae([1.0], [0.0], 0.0, 0.9, lam)


def test_bad_shapes_and_values():
    with pytest.raises(ValueError, match="values"):
        gae([1.0, 2.0], [0.0], 0.0, 0.9, 0.9)
    with pytest.raises(ValueError, match="last_value"):
        gae(np.ones((3, 2)), np.ones((3, 2)), np.ones(3), 0.9, 0.9)
    with pytest.raises(ValueError, match="dones"):
        gae([1.0, 2.0], [0.0, 0.0], 0.0, 0.9, 0.9, dones=[True])
    with pytest.raises(ValueError, match="dones"):
        gae([1.0, 2.0], [0.0, 0.0], 0.0, 0.9, 0.9, dones=[0.5, 2])
    with pytest.raises(ValueError, match="x"):
        discounted_cumsum([1.0, np.nan], 0.9)
    with pytest.raises(ValueError, match="x"):
        discounted_cumsum(3.0, 0.9)
    with pytest.raises(ValueError, match="rewards"):
        reward_to_go([np.inf])
    with pytest.raises(ValueError, match="last_value"):
        gae([1.0], [0.0], np.nan, 0.9, 0.9)
