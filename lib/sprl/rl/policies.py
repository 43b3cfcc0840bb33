r"""Policy and value networks in plain torch (book sections 2.3 and 2.4).

A stochastic policy for a discrete action space is a network that maps an
observation to logits; :math:`\pi_\theta(a \mid s) = \mathrm{softmax}(f_\theta(s))_a`.
The value network maps an observation to one number :math:`V_\phi(s)`.

Initialisation follows the practice that makes small policy-gradient agents
reliable (see the RL implementation notes of the book's design): orthogonal
weights with gain :math:`\sqrt 2` in the hidden layers, 0.01 in the policy's
output layer (so the first policy is close to uniform) and 1 in the value's
output layer, zero biases.

The *pseudo-loss* of section 2.4.3, over a batch of :math:`B` steps
:math:`b = (i, t)` from :math:`N` episodes,

.. math::

   \tilde L(\theta) = -\frac{1}{B} \sum_{b} \hat A_b \log \pi_\theta(a_b \mid s_b),

has no meaning as a number; its gradient, with :math:`\hat A` held fixed, is
minus the score-function estimate of :math:`\nabla_\theta J`, scaled by
:math:`N/B`.  The chapters write the estimator per episode,
:math:`\frac1N \sum_i \sum_t`; the mean over steps differs from it only by the
positive factor :math:`N/B` (one over the batch's mean episode length): it
changes the length of a step, not its direction, and Adam, which divides by a
running scale of the gradient, is nearly blind to it.  That is
:func:`pseudo_loss`.
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["layer_init", "mlp", "CategoricalPolicy", "ValueNetwork", "pseudo_loss"]


def layer_init(layer: nn.Linear, std: float = math.sqrt(2.0), bias: float = 0.0) -> nn.Linear:
    """Orthogonal weights scaled by ``std`` and constant biases, in place; returns the layer."""
    nn.init.orthogonal_(layer.weight, std)
    nn.init.constant_(layer.bias, bias)
    return layer


def mlp(in_dim: int, out_dim: int, hidden=(64, 64), out_std: float = 1.0) -> nn.Sequential:
    """A tanh multilayer perceptron ``in_dim -> hidden... -> out_dim`` with orthogonal init."""
    layers, last = [], in_dim
    for width in hidden:
        layers += [layer_init(nn.Linear(last, width)), nn.Tanh()]
        last = width
    layers.append(layer_init(nn.Linear(last, out_dim), std=out_std))
    return nn.Sequential(*layers)


class CategoricalPolicy(nn.Module):
    r"""Softmax policy :math:`\pi_\theta(a \mid s) = \mathrm{softmax}(f_\theta(s))_a`."""

    def __init__(self, obs_dim: int, n_actions: int, hidden=(64, 64)):
        super().__init__()
        self.logits_net = mlp(obs_dim, n_actions, hidden, out_std=0.01)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """Logits, shape (B, n_actions)."""
        return self.logits_net(obs)

    def log_prob(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        r""":math:`\log \pi_\theta(a \mid s)` for each row, shape (B,)."""
        logp = torch.log_softmax(self(obs), dim=-1)
        return logp.gather(-1, actions.long().unsqueeze(-1)).squeeze(-1)

    def entropy(self, obs: torch.Tensor) -> torch.Tensor:
        r"""Entropy :math:`-\sum_a \pi \log \pi` of each row, shape (B,)."""
        logp = torch.log_softmax(self(obs), dim=-1)
        return -(logp.exp() * logp).sum(-1)

    @torch.no_grad()
    def sample(self, obs: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Draw one action per row (shape (B,)); a ``generator`` makes it reproducible."""
        probs = torch.softmax(self(obs), dim=-1)
        return torch.multinomial(probs, 1, generator=generator).squeeze(-1)

    @torch.no_grad()
    def greedy(self, obs: torch.Tensor) -> torch.Tensor:
        """The most probable action of each row, shape (B,)."""
        return self(obs).argmax(-1)


class ValueNetwork(nn.Module):
    r"""State-value network :math:`V_\phi(s)`."""

    def __init__(self, obs_dim: int, hidden=(64, 64)):
        super().__init__()
        self.net = mlp(obs_dim, 1, hidden, out_std=1.0)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """Values, shape (B,)."""
        return self.net(obs).squeeze(-1)


def pseudo_loss(log_probs: torch.Tensor, advantages: torch.Tensor) -> torch.Tensor:
    r"""Pseudo-loss :math:`-\mathrm{mean}(\hat A \log \pi_\theta(a \mid s))` (section 2.4.3).

    ``advantages`` is detached: it is a weight, not a function of
    :math:`\theta`.  Minimising this loss ascends the score-function estimate
    :math:`\frac{1}{B}\sum_b \hat A_b \nabla_\theta \log \pi_\theta(a_b \mid s_b)`
    (section 2.4.3).
    """
    if log_probs.shape != advantages.shape:
        raise ValueError(
            f"advantages must have the shape of log_probs {tuple(log_probs.shape)}, "
            f"got {tuple(advantages.shape)}"
        )
    return -(log_probs * advantages.detach()).mean()
