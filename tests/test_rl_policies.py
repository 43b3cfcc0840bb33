"""Tests of sprl.rl.policies: the pseudo-loss trick and the networks."""

import numpy as np
import pytest
import torch

from sprl.rl.policies import CategoricalPolicy, ValueNetwork, layer_init, pseudo_loss
from sprl.rl.tabular import gridworld, score_function_gradients, softmax_policy


def test_pseudo_loss_gradient_is_the_score_function_gradient_tabular():
    """Autograd on -mean(A log pi) equals the hand-computed sum_t A_t (e_a - pi(.|s)) exactly."""
    world = gridworld()
    rng = np.random.default_rng(0)
    theta = rng.normal(size=(11, 4))
    ep = world.sample_episodes(softmax_policy(theta), 50, rng=1)
    adv = rng.normal(size=ep.rewards.shape)  # any weights: they are constants for theta
    by_hand = score_function_gradients(theta, ep, adv).sum(axis=0)  # sum_i sum_t A (e_a - pi)

    t = torch.tensor(theta, requires_grad=True)
    m = torch.as_tensor(ep.mask)
    states, actions = torch.as_tensor(ep.states)[m], torch.as_tensor(ep.actions)[m]
    logp = torch.log_softmax(t, dim=1)[states, actions]
    loss = pseudo_loss(logp, torch.as_tensor(adv)[m])
    loss.backward()
    # loss is a mean over the B steps and carries a minus sign
    np.testing.assert_allclose(-t.grad.numpy() * int(m.sum()), by_hand, rtol=0, atol=1e-12)


def test_pseudo_loss_gradient_linear_softmax():
    """pi(a|s) = softmax(W phi(s)): grad log pi(a|s) = (e_a - pi) phi(s)^T, by hand vs autograd."""
    rng = np.random.default_rng(3)
    B, d, A = 40, 5, 3
    phi = rng.normal(size=(B, d))
    W = rng.normal(size=(A, d))
    a = rng.integers(0, A, size=B)
    adv = rng.normal(size=B)
    logits = phi @ W.T
    pi = np.exp(logits - logits.max(1, keepdims=True))
    pi /= pi.sum(1, keepdims=True)
    by_hand = sum(adv[b] * np.outer(np.eye(A)[a[b]] - pi[b], phi[b]) for b in range(B)) / B

    Wt = torch.tensor(W, requires_grad=True)
    logits_t = torch.as_tensor(phi) @ Wt.T
    logp = torch.log_softmax(logits_t, dim=1)[torch.arange(B), torch.as_tensor(a)]
    pseudo_loss(logp, torch.as_tensor(adv)).backward()
    np.testing.assert_allclose(-Wt.grad.numpy(), by_hand, rtol=0, atol=1e-13)


def test_pseudo_loss_detaches_the_advantage():
    x = torch.tensor([0.3, -0.2], requires_grad=True)
    logp = torch.log_softmax(x, 0)
    adv = 2.0 * x  # depends on x, but must count as a constant
    pseudo_loss(logp, adv).backward()
    expect = torch.autograd.grad(-(torch.log_softmax(x, 0) * adv.detach()).mean(), x)[0]
    torch.testing.assert_close(x.grad, expect)


def test_pseudo_loss_shapes():
    with pytest.raises(ValueError, match="advantages"):
        pseudo_loss(torch.zeros(3), torch.zeros(4))


def test_networks_and_init():
    torch.manual_seed(0)
    pol = CategoricalPolicy(4, 2)
    val = ValueNetwork(4)
    obs = torch.randn(16, 4)
    probs = torch.softmax(pol(obs), -1)
    assert probs.shape == (16, 2)
    # output gain 0.01: the first policy is nearly uniform
    assert torch.allclose(probs, torch.full_like(probs, 0.5), atol=0.05)
    assert val(obs).shape == (16,)
    assert pol.log_prob(obs, torch.zeros(16, dtype=torch.long)).shape == (16,)
    assert torch.allclose(pol.entropy(obs), torch.full((16,), np.log(2.0), dtype=torch.float32),
                          atol=0.01)
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    assert torch.equal(pol.sample(obs, g1), pol.sample(obs, g2))
    layer = layer_init(torch.nn.Linear(6, 6), std=1.0)
    w = layer.weight.detach()
    torch.testing.assert_close(w @ w.T, torch.eye(6), atol=1e-5, rtol=0)
    assert (layer.bias == 0).all()


def test_kl_estimates_are_unbiased_and_k3_nonnegative():
    """Both estimators average to the exact KL(p || q) over exact weights of p."""
    from sprl.rl.common import kl_estimates

    p = torch.tensor([0.5, 0.3, 0.2], dtype=torch.float64)
    q = torch.tensor([0.2, 0.2, 0.6], dtype=torch.float64)
    exact = float((p * (p / q).log()).sum())
    k1, k3 = kl_estimates(p.log(), q.log())
    assert abs(float((p * k1).sum()) - exact) < 1e-14
    assert abs(float((p * k3).sum()) - exact) < 1e-14
    assert (k3 >= 0).all() and (k1 < 0).any()  # k1 can be negative, k3 never
    with pytest.raises(ValueError, match="logp_other must have the shape"):
        kl_estimates(p.log(), q.log()[:2])
