r"""Direct Preference Optimization (book section 2.8).

One file, read top to bottom.  First the Bradley-Terry model of pairwise
preferences, :math:`\Pr(i \succ j) = \sigma(\alpha + s_i - s_j)`
(:func:`bradley_terry_probability`) and its maximum-likelihood fit
(:func:`fit_bradley_terry`).  Then the DPO loss of Rafailov et al. (2023),

.. math::

   \mathcal L_{\text{DPO}}(\theta) = -\frac1B \sum_{b} \log \sigma\Bigl(
   \beta \log \frac{\pi_\theta(y_w \mid x)}{\pi_{\text{ref}}(y_w \mid x)}
   - \beta \log \frac{\pi_\theta(y_l \mid x)}{\pi_{\text{ref}}(y_l \mid x)}\Bigr),

(:func:`dpo_loss`) for a chosen response :math:`y_w` and a rejected one
:math:`y_l`.  Then the tabular problem of the chapter's exact check: the
KL-regularised optimum :math:`\pi^*(y \mid x) \propto \pi_{\text{ref}}(y \mid x)
e^{r(x, y)/\beta}` (:func:`optimal_policy`), preference pairs drawn from
Bradley-Terry (:func:`sample_preferences`) and the minimiser of the DPO loss
over a softmax table (:func:`fit_tabular_dpo`).  Last, DPO fine-tuning of the
toy language model of :mod:`sprl.rl.toylm` (:class:`Config`, :func:`train`).
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.optimize
import scipy.sparse
import scipy.sparse.csgraph
import scipy.special
import torch
import torch.nn.functional as F

from .._checks import as_finite_array as _finite
from .._checks import as_int, as_int_array, as_positive, as_rng
from ..progress import progress_bar
from . import toylm
from .common import deterministic

__all__ = [
    "bradley_terry_probability", "BradleyTerryFit", "fit_bradley_terry",
    "dpo_loss", "optimal_policy", "kl_regularised_objective", "sample_preferences",
    "tabular_dpo_loss", "fit_tabular_dpo", "Config", "DPOHistory", "train",
    "preference_accuracy",
]


# --------------------------------------------------------------------------
# Bradley-Terry
# --------------------------------------------------------------------------

def bradley_terry_probability(s_i, s_j, alpha=0.0):
    r"""Probability that ``i`` beats ``j``: :math:`\sigma(\alpha + s_i - s_j)`.

    .. math::

       \Pr(i \succ j) = \frac{e^{\alpha + s_i - s_j}}{1 + e^{\alpha + s_i - s_j}}
       = \frac{e^{\alpha} e^{s_i}}{e^{\alpha} e^{s_i} + e^{s_j}},

    with strengths (or rewards) :math:`s_i, s_j` and a home advantage
    :math:`\alpha` of the first-named side (``alpha = 0``: the plain model, where
    :math:`\Pr(i \succ j) + \Pr(j \succ i) = 1`).  Computed with
    ``scipy.special.expit``, so any finite difference is safe.  Section 2.8.

    Parameters
    ----------
    s_i, s_j : float or array_like (broadcast)
    alpha : float or array_like, default 0

    Returns
    -------
    numpy.ndarray or float
    """
    s_i, s_j = _finite(s_i, "s_i"), _finite(s_j, "s_j")
    alpha = _finite(alpha, "alpha")
    out = scipy.special.expit(alpha + s_i - s_j)
    return float(out) if out.ndim == 0 else out


@dataclass(frozen=True)
class BradleyTerryFit:
    """What :func:`fit_bradley_terry` returns.

    ``strengths`` sum to zero (they are identified only up to a common
    constant); ``alpha`` is the fitted home advantage (0 when not fitted);
    ``log_likelihood`` is the maximised log-likelihood of the matches.
    """

    strengths: np.ndarray
    alpha: float
    log_likelihood: float
    n_iterations: int


def _check_home_advantage_mle(first, second, won, n):
    r"""Raise unless the home-advantage likelihood has a unique maximiser.

    With :math:`s_0 = 0` fixed, match :math:`m` has the row :math:`a_m = \pm(e_{i_m}
    - e_{j_m} + e_\alpha)` (sign + when the home side won).  A maximiser exists
    and is unique iff no direction :math:`v \ne 0` has :math:`A v \ge 0`
    (Albert and Anderson 1984): if :math:`A v \ge 0` with one entry :math:`> 0`,
    the likelihood rises for ever along :math:`v`; if :math:`A v = 0`, it is flat.
    Strong connectivity of the winner graph is not enough once :math:`\alpha` is
    fitted.  Checked by a linear programme and the rank of :math:`A`.
    """
    m = won.size
    rows = np.arange(m)
    a = np.zeros((m, n))  # columns s_1 .. s_{n-1}, alpha (s_0 = 0 dropped)
    np.add.at(a, (rows, first), 1.0)
    np.add.at(a, (rows, second), -1.0)
    a[:, 0] = 1.0  # the column of s_0 is reused for alpha
    a *= np.where(won == 1, 1.0, -1.0)[:, None]
    # max sum(A v) subject to A v >= 0, -1 <= v <= 1
    lp = scipy.optimize.linprog(-a.sum(axis=0), A_ub=-a, b_ub=np.zeros(m),
                                bounds=[(-1, 1)] * n, method="highs")
    if (lp.status == 0 and -lp.fun > 1e-9) or np.linalg.matrix_rank(a) < n:
        raise ValueError(
            "the matches admit no unique maximum-likelihood fit with a home advantage: "
            "some direction of (strengths, alpha) never lowers the likelihood (e.g. every "
            "match won by the stronger side once alpha is large)")


def fit_bradley_terry(first, second, first_won, n_items: int | None = None,
                      home_advantage: bool = False) -> BradleyTerryFit:
    r"""Maximum-likelihood strengths (and home advantage) from paired comparisons.

    Match :math:`m` puts item ``first[m]`` (at home, when ``home_advantage``)
    against ``second[m]``; ``first_won[m]`` says who won.  The log-likelihood

    .. math::

       \ell(s, \alpha) = \sum_m \Bigl[ w_m \log \sigma(\alpha + s_{i_m} - s_{j_m})
       + (1 - w_m) \log \sigma(-\alpha - s_{i_m} + s_{j_m}) \Bigr]

    is concave; it depends on :math:`s` only through differences, so the fit
    fixes :math:`s_0 = 0` while optimising (BFGS with the exact gradient,
    ``scipy.optimize.minimize``) and then centres the strengths to sum zero.
    Section 2.8.

    The maximum exists (Zermelo 1929, Ford 1957) iff every item beat some item
    and lost to some item along every split of the items: the graph with an
    edge from each winner to its loser must be strongly connected.  Otherwise
    some strength would run to infinity (or the fit is not unique), and a
    ``ValueError`` says so.  With ``home_advantage`` that is not enough (a
    large :math:`\alpha` can explain every match together with the strengths);
    the fit then also checks, by a linear programme, that no direction of
    :math:`(s, \alpha)` leaves every term of the likelihood as large or larger.

    Parameters
    ----------
    first, second : array_like of int, shape (M,)
        Items of each match, in ``0 .. n_items - 1``, ``first[m] != second[m]``.
    first_won : array_like of bool or 0/1, shape (M,)
    n_items : int, optional
        Number of items (default: the largest index + 1).
    home_advantage : bool
        Fit :math:`\alpha` as well (otherwise :math:`\alpha = 0`).

    Returns
    -------
    BradleyTerryFit
    """
    first = as_int_array(first, "first", minimum=0).ravel()
    second = as_int_array(second, "second", minimum=0).ravel()
    won = np.asarray(first_won).ravel()
    if first.size == 0:
        raise ValueError("first must hold at least one match")
    if not (first.shape == second.shape == won.shape):
        raise ValueError(f"first, second and first_won must have the same length, got "
                         f"{first.size}, {second.size}, {won.size}")
    if not np.isin(won, (0, 1)).all():
        raise ValueError("first_won must hold booleans or 0/1 only")
    won = won.astype(float)
    if (first == second).any():
        raise ValueError("first and second must differ in every match (no item plays itself)")
    n = int(max(first.max(), second.max())) + 1 if n_items is None else \
        as_int(n_items, "n_items", minimum=2)
    if max(first.max(), second.max()) >= n:
        raise ValueError(f"first and second must lie in 0 .. n_items - 1 = {n - 1}")
    winners = np.where(won == 1, first, second)
    losers = np.where(won == 1, second, first)
    graph = scipy.sparse.coo_matrix((np.ones(won.size), (winners, losers)), shape=(n, n))
    n_comp, _ = scipy.sparse.csgraph.connected_components(graph, connection="strong")
    if n_comp > 1:
        raise ValueError(
            "the matches admit no maximum-likelihood fit: the graph 'winner -> loser' must be "
            f"strongly connected (every split of the items won both ways), it has {n_comp} "
            "strong components")
    if home_advantage and (won.all() or not won.any()):
        raise ValueError("home_advantage needs matches won by the home side and by the away side")
    if home_advantage:
        _check_home_advantage_mle(first, second, won, n)

    def negative_log_likelihood(z):
        s = np.concatenate([[0.0], z[:n - 1]])
        alpha = z[n - 1] if home_advantage else 0.0
        d = alpha + s[first] - s[second]
        # -log sigma(d) = logaddexp(0, -d): exact for any d
        nll = np.sum(won * np.logaddexp(0.0, -d) + (1 - won) * np.logaddexp(0.0, d))
        g_d = scipy.special.expit(d) - won  # d nll / d d_m
        grad_s = np.bincount(first, g_d, n) - np.bincount(second, g_d, n)
        grad = grad_s[1:]
        if home_advantage:
            grad = np.append(grad, g_d.sum())
        return nll / won.size, grad / won.size  # per match: a tolerance that fits any M

    z0 = np.zeros(n - 1 + int(home_advantage))
    res = scipy.optimize.minimize(negative_log_likelihood, z0, jac=True, method="BFGS",
                                  options={"gtol": 1e-10, "maxiter": 10_000})
    s = np.concatenate([[0.0], res.x[:n - 1]])
    alpha = float(res.x[n - 1]) if home_advantage else 0.0
    return BradleyTerryFit(strengths=s - s.mean(), alpha=alpha,
                           log_likelihood=-float(res.fun) * won.size, n_iterations=int(res.nit))


# --------------------------------------------------------------------------
# The DPO loss
# --------------------------------------------------------------------------

def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps,
             ref_rejected_logps, beta: float, return_rewards: bool = False):
    r"""The DPO loss: the mean over the batch of :math:`-\log\sigma(\beta\, m)`.

    .. math::

       m = \Bigl(\log \pi_\theta(y_w \mid x) - \log \pi_{\text{ref}}(y_w \mid x)\Bigr)
         - \Bigl(\log \pi_\theta(y_l \mid x) - \log \pi_{\text{ref}}(y_l \mid x)\Bigr),
       \qquad \mathcal L = \frac1B \sum_b \operatorname{softplus}(-\beta\, m_b).

    :math:`-\log \sigma(z) = \log(1 + e^{-z})` is computed as a softplus, so a
    margin of :math:`-1000` with :math:`\beta = 1` gives a loss of 1000, not
    ``inf``.  Torch tensors keep the autograd graph (numpy arrays or numbers
    mixed in are turned into tensors); numpy input gives a float.  Section 2.8.

    Parameters
    ----------
    policy_chosen_logps, policy_rejected_logps : torch.Tensor or array_like, shape (B,)
        :math:`\log \pi_\theta` of the chosen and the rejected responses.
    ref_chosen_logps, ref_rejected_logps : torch.Tensor or array_like, shape (B,)
        The same under :math:`\pi_{\text{ref}}` (constants).
    beta : float
        ``> 0``: the weight of the KL penalty of the objective.
    return_rewards : bool
        Also return the implicit rewards :math:`\beta \log
        \frac{\pi_\theta(y \mid x)}{\pi_{\text{ref}}(y \mid x)}` of the chosen
        and the rejected responses (detached, for logging).

    Returns
    -------
    loss : torch.Tensor (scalar) or float
    chosen_rewards, rejected_rewards : only with ``return_rewards``
    """
    beta = as_positive(beta, "beta")
    names = ("policy_chosen_logps", "policy_rejected_logps", "ref_chosen_logps",
             "ref_rejected_logps")
    values = (policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps)
    use_torch = any(isinstance(v, torch.Tensor) for v in values)
    shapes = [tuple(np.shape(v)) if not isinstance(v, torch.Tensor) else tuple(v.shape)
              for v in values]
    if len(set(shapes)) != 1:
        raise ValueError("the four log-probability arrays must have the same shape, got "
                         + ", ".join(f"{n} {s}" for n, s in zip(names, shapes)))
    if int(np.prod(shapes[0])) == 0:
        raise ValueError("the log-probability arrays must not be empty")
    if use_torch:
        dtype = next(v.dtype for v in values if isinstance(v, torch.Tensor))
        if not dtype.is_floating_point:
            dtype = torch.get_default_dtype()
        ts = [v if isinstance(v, torch.Tensor) else torch.as_tensor(np.asarray(v), dtype=dtype)
              for v in values]
        for t, name in zip(ts, names):
            if not torch.isfinite(t.detach()).all():
                raise ValueError(f"{name} must hold finite numbers only (no nan or inf)")
        pc, pr, rc, rr = ts
        chosen = pc - rc  # log pi_theta(y_w|x) / pi_ref(y_w|x)
        rejected = pr - rr
        loss = -F.logsigmoid(beta * (chosen - rejected)).mean()  # softplus(-beta m)
        if return_rewards:
            return loss, (beta * chosen).detach(), (beta * rejected).detach()
        return loss
    pc, pr, rc, rr = (_finite(v, n) for v, n in zip(values, names))
    chosen, rejected = pc - rc, pr - rr
    loss = float(np.mean(np.logaddexp(0.0, -beta * (chosen - rejected))))
    if return_rewards:
        return loss, beta * chosen, beta * rejected
    return loss


# --------------------------------------------------------------------------
# The tabular problem of the exact check
# --------------------------------------------------------------------------

def _check_table(pi_ref, reward=None):
    pi_ref = _finite(pi_ref, "pi_ref")
    if pi_ref.ndim != 2:
        raise ValueError(f"pi_ref must be a table (n_prompts, n_responses), got shape {pi_ref.shape}")
    if (pi_ref <= 0).any() or not np.allclose(pi_ref.sum(axis=1), 1.0, atol=1e-10):
        raise ValueError("pi_ref must have positive rows that sum to 1")
    if reward is not None:
        reward = _finite(reward, "reward")
        if reward.shape != pi_ref.shape:
            raise ValueError(f"reward must have the shape of pi_ref {pi_ref.shape}, got {reward.shape}")
    return pi_ref, reward


def optimal_policy(pi_ref, reward, beta: float) -> np.ndarray:
    r"""The maximiser of :math:`\mathbb E_{y \sim \pi}[r(x, y)] - \beta\, \mathrm{KL}(\pi \| \pi_{\text{ref}})`.

    .. math::

       \pi^*(y \mid x) = \frac{\pi_{\text{ref}}(y \mid x)\, e^{r(x, y)/\beta}}{Z(x)},
       \qquad Z(x) = \sum_y \pi_{\text{ref}}(y \mid x)\, e^{r(x, y)/\beta},

    computed as a softmax of :math:`\log \pi_{\text{ref}} + r/\beta` along each
    row (no overflow for small :math:`\beta`).  Section 2.8.

    Parameters
    ----------
    pi_ref, reward : array_like, shape (n_prompts, n_responses)
    beta : float, ``> 0``
    """
    beta = as_positive(beta, "beta")
    pi_ref, reward = _check_table(pi_ref, reward)
    return scipy.special.softmax(np.log(pi_ref) + reward / beta, axis=1)


def kl_regularised_objective(pi, pi_ref, reward, beta: float) -> np.ndarray:
    r""":math:`J(\pi)(x) = \sum_y \pi(y \mid x) r(x, y) - \beta \sum_y \pi(y \mid x)
    \log \frac{\pi(y \mid x)}{\pi_{\text{ref}}(y \mid x)}`, one value per prompt.

    Its maximum over :math:`\pi` is :math:`\beta \log Z(x)`, reached at
    :func:`optimal_policy` (section 2.8).  Entries with :math:`\pi = 0` add 0.
    """
    beta = as_positive(beta, "beta")
    pi_ref, reward = _check_table(pi_ref, reward)
    pi = _finite(pi, "pi")
    if pi.shape != pi_ref.shape or (pi < 0).any() or not np.allclose(pi.sum(axis=1), 1.0):
        raise ValueError("pi must be a table of the shape of pi_ref with rows that are laws")
    kl = np.sum(scipy.special.rel_entr(pi, pi_ref), axis=1)
    return np.sum(pi * reward, axis=1) - beta * kl


def sample_preferences(reward, pi_ref, n_pairs: int, rng=None, prompt_probs=None):
    r"""Preference pairs as in DPO's data: :math:`x \sim \rho`, :math:`y_1, y_2 \sim
    \pi_{\text{ref}}(\cdot \mid x)` independently and distinct, labelled by Bradley-Terry.

    :math:`y_1` is chosen with probability :math:`\sigma(r(x, y_1) - r(x, y_2))`.
    Pairs with :math:`y_1 = y_2` carry no information and are redrawn.
    Section 2.8.

    Returns
    -------
    prompts, chosen, rejected : numpy.ndarray of int, shape (n_pairs,)
    """
    pi_ref, reward = _check_table(pi_ref, reward)
    n_pairs = as_int(n_pairs, "n_pairs", minimum=1)
    rng = as_rng(rng)
    n_x, n_y = pi_ref.shape
    if n_y < 2:
        raise ValueError("pi_ref must have at least 2 responses per prompt")
    rho = np.full(n_x, 1.0 / n_x) if prompt_probs is None else _finite(prompt_probs, "prompt_probs")
    x = rng.choice(n_x, size=n_pairs, p=rho)
    # y1, y2 | x, y1 != y2: draw y1 from pi_ref, then y2 from pi_ref without y1
    cdf = np.cumsum(pi_ref, axis=1)
    y1 = np.minimum((rng.random(n_pairs)[:, None] > cdf[x]).sum(axis=1), n_y - 1)
    rest = pi_ref[x].copy()
    rest[np.arange(n_pairs), y1] = 0.0
    rest /= rest.sum(axis=1, keepdims=True)
    y2 = np.minimum((rng.random(n_pairs)[:, None] > np.cumsum(rest, axis=1)).sum(axis=1), n_y - 1)
    first_wins = rng.random(n_pairs) < scipy.special.expit(reward[x, y1] - reward[x, y2])
    chosen = np.where(first_wins, y1, y2)
    rejected = np.where(first_wins, y2, y1)
    return x, chosen, rejected


def tabular_dpo_loss(logits, prompts, chosen, rejected, pi_ref, beta: float):
    r"""The DPO loss of the softmax table :math:`\pi_\theta(y \mid x) \propto
    e^{\theta_{x, y}}` and its gradient in :math:`\theta` (numpy, exact).

    The normaliser of :math:`\pi_\theta(\cdot \mid x)` cancels in the margin
    (both responses share the prompt), so with :math:`u = \theta - \log
    \pi_{\text{ref}}` the margin is :math:`u_{x, y_w} - u_{x, y_l}` and

    .. math::

       \frac{\partial \mathcal L}{\partial \theta_{x,y}} = -\frac{\beta}{B}
       \sum_b \sigma(-\beta m_b) \bigl(\mathbf 1[x_b{=}x, y_{w,b}{=}y]
       - \mathbf 1[x_b{=}x, y_{l,b}{=}y]\bigr).

    Returns
    -------
    loss : float
    grad : numpy.ndarray, the shape of ``logits``
    """
    beta = as_positive(beta, "beta")
    pi_ref, _ = _check_table(pi_ref)
    logits = _finite(logits, "logits")
    if logits.shape != pi_ref.shape:
        raise ValueError(f"logits must have the shape of pi_ref {pi_ref.shape}, got {logits.shape}")
    x, w, l = (np.asarray(a) for a in (prompts, chosen, rejected))
    u = logits - np.log(pi_ref)
    margin = u[x, w] - u[x, l]
    loss = float(np.mean(np.logaddexp(0.0, -beta * margin)))
    weight = -beta * scipy.special.expit(-beta * margin) / x.size
    n_y = logits.shape[1]
    size = logits.size
    grad = (np.bincount(x * n_y + w, weight, size) - np.bincount(x * n_y + l, weight, size))
    return loss, grad.reshape(logits.shape)


def fit_tabular_dpo(prompts, chosen, rejected, pi_ref, beta: float, ridge: float = 1.0):
    r"""Minimise the DPO loss over a softmax table; returns the fitted policy.

    Minimises :math:`B\, \mathcal L_{\text{DPO}}(\theta) + \frac{\lambda}{2}
    \lVert \beta(\theta - \log \pi_{\text{ref}}) \rVert^2` with BFGS
    (``scipy.optimize.minimize``, exact gradient; the pairs enter only through
    their counts per triple :math:`(x, y_w, y_l)`),
    from :math:`\theta = \log \pi_{\text{ref}}`.  The ridge :math:`\lambda`
    (``ridge``) on the implicit reward :math:`\beta(\theta - \log
    \pi_{\text{ref}})` makes the minimiser exist when, in a small sample, one
    response beats every other (the plain loss then decreases forever); it
    weighs as much as a few pairs, so its effect vanishes as the number of pairs
    :math:`B` grows.  ``ridge = 0`` gives the plain loss.  Section 2.8.

    Returns
    -------
    numpy.ndarray, shape (n_prompts, n_responses)
        :math:`\pi_\theta`, row-wise softmax of the fitted table.
    """
    beta = as_positive(beta, "beta")
    pi_ref, _ = _check_table(pi_ref)
    if not (isinstance(ridge, (int, float)) and np.isfinite(ridge) and ridge >= 0):
        raise ValueError(f"ridge must be a finite number >= 0, got {ridge!r}")
    x = as_int_array(prompts, "prompts", minimum=0, maximum=pi_ref.shape[0] - 1).ravel()
    w = as_int_array(chosen, "chosen", minimum=0, maximum=pi_ref.shape[1] - 1).ravel()
    l = as_int_array(rejected, "rejected", minimum=0, maximum=pi_ref.shape[1] - 1).ravel()
    if not (x.size == w.size == l.size) or x.size == 0:
        raise ValueError("prompts, chosen and rejected must have the same length >= 1")
    log_ref = np.log(pi_ref)
    n_x, n_y = pi_ref.shape
    # counts[x, w, l] = number of pairs (x, y_w, y_l): the loss needs nothing else
    counts = np.bincount((x * n_y + w) * n_y + l, minlength=n_x * n_y * n_y)
    counts = counts.reshape(n_x, n_y, n_y).astype(float)

    def objective(flat):
        u = beta * (flat.reshape(pi_ref.shape) - log_ref)  # implicit rewards
        margin = u[:, :, None] - u[:, None, :]  # beta m for every (x, y_w, y_l)
        total = np.sum(counts * np.logaddexp(0.0, -margin)) + 0.5 * ridge * np.sum(u ** 2)
        g = -counts * scipy.special.expit(-margin)  # d total / d margin
        grad_u = g.sum(axis=2) - g.sum(axis=1) + ridge * u
        return total / x.size, (beta * grad_u).ravel() / x.size  # per pair

    res = scipy.optimize.minimize(objective, log_ref.ravel(), jac=True, method="BFGS",
                                  options={"gtol": 1e-10, "maxiter": 10_000})
    return scipy.special.softmax(res.x.reshape(pi_ref.shape), axis=1)


# --------------------------------------------------------------------------
# DPO fine-tuning of the toy language model
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Config:
    """Hyperparameters of DPO fine-tuning (all in one place)."""

    beta: float = 0.1  # weight of the KL penalty; implicit reward = beta log(pi / pi_ref)
    lr: float = 1e-3  # Adam step size
    batch_size: int = 64  # preference pairs per step
    n_steps: int = 200  # gradient steps
    eval_every: int = 10  # steps between evaluations on the held-out pairs
    kl_samples: int = 256  # responses sampled from pi_theta to estimate KL(pi_theta || pi_ref)
    max_new_tokens: int = 12  # longest sampled response in the KL estimate
    max_grad_norm: float = 1.0  # clip the gradient norm of each step

    def __post_init__(self):
        as_positive(self.beta, "beta")
        as_positive(self.lr, "lr")
        for name in ("batch_size", "n_steps", "eval_every", "kl_samples", "max_new_tokens"):
            as_int(getattr(self, name), name, minimum=1)


@dataclass
class DPOHistory:
    """What :func:`train` returns.

    Per step: ``loss`` and the mean implicit rewards of the batch's chosen and
    rejected responses.  Per evaluation (at ``eval_steps``): on the held-out
    pairs, ``test_accuracy`` (share of pairs whose chosen response gets the
    larger implicit reward; ties count one half), ``test_margin`` (mean implicit
    reward of chosen minus rejected), and ``kl``, a Monte Carlo estimate of
    :math:`\\mathbb E_x \\mathrm{KL}(\\pi_\\theta(\\cdot|x) \\| \\pi_{\\text{ref}}(\\cdot|x))`.
    """

    loss: list = field(default_factory=list)
    chosen_reward: list = field(default_factory=list)
    rejected_reward: list = field(default_factory=list)
    eval_steps: list = field(default_factory=list)
    test_accuracy: list = field(default_factory=list)
    test_margin: list = field(default_factory=list)
    kl: list = field(default_factory=list)
    wall_time: float = 0.0
    policy: Any = None
    config: Any = None


def preference_accuracy(chosen_rewards, rejected_rewards) -> float:
    """Share of pairs whose chosen response has the larger reward (ties count 1/2)."""
    c = _finite(chosen_rewards, "chosen_rewards")
    r = _finite(rejected_rewards, "rejected_rewards")
    if c.shape != r.shape or c.size == 0:
        raise ValueError("chosen_rewards and rejected_rewards must have the same non-empty shape")
    return float(np.mean((c > r) + 0.5 * (c == r)))


def _encode_pairs(pairs):
    prompts, chosen, rejected = (list(p) for p in pairs)
    if not (len(prompts) == len(chosen) == len(rejected)) or not prompts:
        raise ValueError("pairs must be (prompts, chosen, rejected) of the same length >= 1")
    return prompts, toylm.encode_batch(prompts, chosen), toylm.encode_batch(prompts, rejected)


@torch.no_grad()
def _logps(model, enc):
    return toylm.sequence_logps(model, *enc)


def train(reference: toylm.TinyLM, train_pairs, test_pairs, config: Config = Config(),
          seed: int = 0, progress: bool = True) -> DPOHistory:
    r"""DPO fine-tuning: a copy of ``reference`` minimises :func:`dpo_loss`.

    ``train_pairs`` and ``test_pairs`` are ``(prompts, chosen, rejected)``, lists
    of strings (prompts of one length).  Each step draws ``batch_size`` training
    pairs (with replacement), computes :math:`\log \pi_\theta` of both responses
    with :func:`sprl.rl.toylm.sequence_logps` (prompt masked) and takes an Adam
    step on the DPO loss; the reference log-probabilities are computed once.
    The reference model is not changed.  Deterministic for a given ``seed``.

    Returns
    -------
    DPOHistory
        With the fine-tuned model in ``policy``.
    """
    if not isinstance(config, Config):
        raise ValueError(f"config must be a dpo.Config, got {type(config).__name__}")
    seed = as_int(seed, "seed", minimum=0)
    _, tr_w, tr_l = _encode_pairs(train_pairs)
    te_prompts, te_w, te_l = _encode_pairs(test_pairs)
    with deterministic(seed):  # one thread, torch seeded; global state restored after
        return _train(reference, tr_w, tr_l, te_prompts, te_w, te_l, config, seed, progress)


def _train(reference, tr_w, tr_l, te_prompts, te_w, te_l, config, seed, progress):
    start = time.perf_counter()
    policy = copy.deepcopy(reference)  # pi_theta starts at pi_ref
    reference.eval()
    ref_w, ref_l = _logps(reference, tr_w), _logps(reference, tr_l)  # constants
    ref_te_w, ref_te_l = _logps(reference, te_w), _logps(reference, te_l)
    optimizer = torch.optim.Adam(policy.parameters(), lr=config.lr)
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    generator = torch.Generator().manual_seed(seed)
    kl_prompts = [te_prompts[i] for i in rng.integers(len(te_prompts), size=config.kl_samples)]
    history = DPOHistory(config=config, policy=policy)

    def evaluate(step):
        _, c, r = dpo_loss(_logps(policy, te_w), _logps(policy, te_l), ref_te_w, ref_te_l,
                           config.beta, return_rewards=True)
        tokens, mask = toylm.sample(policy, kl_prompts, config.max_new_tokens,
                                    generator=generator)
        kl = (_logps(policy, (tokens, mask)) - _logps(reference, (tokens, mask))).mean()
        history.eval_steps.append(step)
        history.test_accuracy.append(preference_accuracy(c.numpy(), r.numpy()))
        history.test_margin.append(float((c - r).mean()))
        history.kl.append(float(kl))

    n = len(ref_w)
    bar = progress_bar(total=config.n_steps, disable=not progress, desc="DPO", unit="step")
    evaluate(0)
    for step in range(1, config.n_steps + 1):
        rows = torch.as_tensor(rng.integers(n, size=config.batch_size))
        logp_w = toylm.sequence_logps(policy, tr_w[0][rows], tr_w[1][rows])
        logp_l = toylm.sequence_logps(policy, tr_l[0][rows], tr_l[1][rows])
        loss, c, r = dpo_loss(logp_w, logp_l, ref_w[rows], ref_l[rows], config.beta,
                              return_rewards=True)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(policy.parameters(), config.max_grad_norm)
        optimizer.step()
        history.loss.append(loss.item())
        history.chosen_reward.append(c.mean().item())
        history.rejected_reward.append(r.mean().item())
        if step % config.eval_every == 0 or step == config.n_steps:
            evaluate(step)
        bar.update(1)
    bar.close()
    history.wall_time = time.perf_counter() - start
    return history
