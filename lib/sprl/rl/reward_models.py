r"""Learned reward models and what optimising them does (book section 2.10).

One file, read top to bottom, on a *bandit*: a finite set of :math:`K`
responses :math:`y`, a reference policy :math:`\pi_{\mathrm{ref}}` over them,
and rewards given as arrays of length :math:`K`.  Everything a language model
would estimate by sampling can be computed exactly here, which is what makes
the section's measurements clean.

* :func:`fit_linear_reward_model`: a Bradley-Terry reward model
  :math:`\hat r(y) = \hat w^\top \phi(y)`, fitted by maximum likelihood
  (logistic regression on feature differences) to preference labels.
* :func:`best_of_n_probabilities`, :func:`best_of_n_kl`,
  :func:`best_of_n_kl_bound`: the law of best-of-:math:`n` sampling and its
  exact KL divergence from :math:`\pi_{\mathrm{ref}}`.
* :func:`kl_regularized_optimum`: :math:`\pi^* \propto \pi_{\mathrm{ref}}
  e^{r/\beta}`, the exact maximiser of :math:`\mathbb E_\pi[r] - \beta
  \mathrm{KL}(\pi \| \pi_{\mathrm{ref}})`.
* :func:`policy_gradient_estimate`, :class:`Config` and :func:`train`: a
  log-linear policy over the :math:`K` responses trained by policy gradient
  on a (proxy) reward, with a leave-one-out baseline and an optional KL
  penalty in the reward.
* :func:`gao_curve` and :func:`fit_gao`: the functional forms of Gao, Schulman
  and Hilton (2023) for the gold reward as a function of
  :math:`d = \sqrt{\mathrm{KL}}`, fitted by least squares.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from .._checks import as_int, as_pmf, as_positive, as_rng
from ..progress import progress_bar

__all__ = [
    "kl_divergence",
    "fit_linear_reward_model",
    "best_of_n_probabilities",
    "best_of_n_kl",
    "best_of_n_kl_bound",
    "kl_regularized_optimum",
    "policy_gradient_estimate",
    "Config",
    "History",
    "train",
    "gao_curve",
    "fit_gao",
]


def _as_rewards(rewards, n: int, name: str = "rewards") -> np.ndarray:
    try:
        arr = np.asarray(rewards, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a 1-D array of numbers") from None
    if arr.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},) like pi_ref, got {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must hold finite numbers (no nan or inf)")
    return arr


def kl_divergence(p, q) -> float:
    r"""Kullback-Leibler divergence :math:`\sum_y p(y) \log(p(y) / q(y))` (nats).

    Terms with :math:`p(y) = 0` count zero; :math:`p(y) > 0 = q(y)` gives
    ``inf``.  Both arguments are probability vectors of the same length.
    """
    p = as_pmf(p, "p", atol=1e-9)
    q = as_pmf(q, "q", atol=1e-9)
    if p.shape != q.shape:
        raise ValueError(f"p and q must have the same shape, got {p.shape} and {q.shape}")
    on = p > 0
    if (q[on] == 0).any():
        return float("inf")
    return float(np.sum(p[on] * (np.log(p[on]) - np.log(q[on]))))


def fit_linear_reward_model(phi_a, phi_b, a_preferred, l2: float = 1e-3,
                            tol: float = 1e-10, max_iter: int = 100) -> np.ndarray:
    r"""Fit a linear Bradley-Terry reward model to preference labels.

    Pair :math:`i` compares responses with features :math:`\phi_{a,i}` and
    :math:`\phi_{b,i}`; the model is

    .. math::

       P(a_i \succ b_i) = \sigma\bigl(w^\top (\phi_{a,i} - \phi_{b,i})\bigr),

    so maximum likelihood is a logistic regression without intercept on the
    differences (an intercept would cancel in every difference).  Returns the
    minimiser :math:`\hat w` of the mean negative log-likelihood plus
    :math:`\frac{l_2}{2} \|w\|^2`, found by Newton's method (the objective is
    strictly convex for ``l2 > 0``).  Section 2.10.
    """
    phi_a = np.asarray(phi_a, dtype=float)
    phi_b = np.asarray(phi_b, dtype=float)
    if phi_a.ndim != 2 or phi_a.shape != phi_b.shape:
        raise ValueError("phi_a and phi_b must be 2-D arrays (pairs, features) of the same "
                         f"shape, got {phi_a.shape} and {phi_b.shape}")
    if not (np.isfinite(phi_a).all() and np.isfinite(phi_b).all()):
        raise ValueError("phi_a and phi_b must hold finite numbers")
    y = np.asarray(a_preferred)
    if y.shape != (phi_a.shape[0],) or not np.isin(y, (0, 1)).all():
        raise ValueError("a_preferred must hold one 0/1 (or bool) label per pair, shape "
                         f"({phi_a.shape[0]},), got shape {y.shape}")
    l2 = as_positive(l2, "l2")
    max_iter = as_int(max_iter, "max_iter", minimum=1)
    x = phi_a - phi_b  # r(a) - r(b) = w . (phi_a - phi_b)
    y = y.astype(float)
    m, dim = x.shape
    w = np.zeros(dim)
    for _ in range(max_iter):
        p = 0.5 * (1.0 + np.tanh(0.5 * (x @ w)))  # sigma(w . x), without overflow
        grad = x.T @ (p - y) / m + l2 * w  # gradient of the mean NLL + l2/2 |w|^2
        hess = (x * (p * (1 - p))[:, None]).T @ x / m + l2 * np.eye(dim)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.max(np.abs(step)) < tol:
            break
    return w


def _ranked_groups(pi_ref: np.ndarray, scores: np.ndarray):
    """Responses sorted by score, equal scores grouped; CDF at each group's end."""
    order = np.argsort(scores, kind="stable")
    s = scores[order]
    new = np.r_[True, s[1:] != s[:-1]]  # first member of each group of equal scores
    group = np.cumsum(new) - 1  # group index of each sorted response
    mass = np.bincount(group, weights=pi_ref[order])  # pi_ref mass of each group
    cdf = np.minimum(np.cumsum(mass), 1.0)
    cdf[-1] = 1.0  # remove rounding: the last group ends at 1
    return order, group, mass, cdf


def best_of_n_probabilities(pi_ref, scores, n) -> np.ndarray:
    r"""The law of best-of-:math:`n`: draw :math:`n` responses i.i.d. from
    :math:`\pi_{\mathrm{ref}}`, keep the one with the highest score.

    With :math:`F(y) = \pi_{\mathrm{ref}}(\{y' : s(y') \le s(y)\})` and
    :math:`F^-(y) = \pi_{\mathrm{ref}}(\{y' : s(y') < s(y)\})`, the maximum
    falls in the group of responses scoring :math:`s(y)` with probability
    :math:`F(y)^n - F^-(y)^n`; ties are broken uniformly among the drawn
    samples, which shares that mass in proportion to :math:`\pi_{\mathrm{ref}}`:

    .. math::

       \pi_n(y) = \pi_{\mathrm{ref}}(y)\,
       \frac{F(y)^n - F^-(y)^n}{F(y) - F^-(y)} .

    Section 2.10.
    """
    pi_ref = as_pmf(pi_ref, "pi_ref", atol=1e-9)
    scores = _as_rewards(scores, pi_ref.size, "scores")
    n = as_int(n, "n", minimum=1)
    order, group, mass, cdf = _ranked_groups(pi_ref, scores)
    below = np.r_[0.0, cdf[:-1]]
    with np.errstate(divide="ignore"):
        log_hi, log_lo = np.log(cdf), np.log(below)
    # F^n - F_-^n = F^n (1 - (F_-/F)^n), computed in logs: no underflow of F^n at large n
    top = np.exp(n * log_hi) * -np.expm1(n * (log_lo - log_hi))
    share = np.divide(top, mass, out=np.zeros_like(top), where=mass > 0)
    out = np.empty_like(pi_ref)
    out[order] = pi_ref[order] * share[group]
    return out


def best_of_n_kl(pi_ref, scores, n) -> float:
    r"""Exact :math:`\mathrm{KL}(\pi_n \| \pi_{\mathrm{ref}})` of best-of-:math:`n`.

    With the notation of :func:`best_of_n_probabilities`, the ratio
    :math:`\pi_n / \pi_{\mathrm{ref}}` is constant on a group of equal scores,
    so

    .. math::

       \mathrm{KL} = \sum_{\text{groups } g} (F_g^n - F_{g-1}^n)
       \log \frac{F_g^n - F_{g-1}^n}{F_g - F_{g-1}}
       \;\le\; \log n - \frac{n-1}{n} .

    The bound (:func:`best_of_n_kl_bound`) is the value for a continuous
    reward distribution.  Section 2.10.  Computed response by response, as
    :math:`\sum_y \pi_n(y) \log(\pi_n(y) / \pi_{\mathrm{ref}}(y))` with
    :math:`\pi_n` from :func:`best_of_n_probabilities`.
    """
    pi_n = best_of_n_probabilities(pi_ref, scores, n)
    pi_ref = as_pmf(pi_ref, "pi_ref", atol=1e-9)
    on = pi_n > 0
    return float(max(np.sum(pi_n[on] * (np.log(pi_n[on]) - np.log(pi_ref[on]))), 0.0))


def best_of_n_kl_bound(n):
    r"""The bound :math:`\log n - (n - 1)/n` on the KL of best-of-:math:`n`.

    It is the exact KL when the reward has a continuous distribution under
    :math:`\pi_{\mathrm{ref}}` (no ties); accepts an integer or an array of
    integers :math:`n \ge 1`.  Section 2.10.
    """
    arr = np.asarray(n)
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.number) \
            or not np.isfinite(arr).all() or (arr != np.round(arr)).any() or (arr < 1).any():
        raise ValueError(f"n must be an integer >= 1 (or an array of them), got {n!r}")
    arr = arr.astype(float)
    out = np.log(arr) - (arr - 1.0) / arr
    return float(out) if out.ndim == 0 else out


def kl_regularized_optimum(pi_ref, rewards, beta) -> np.ndarray:
    r"""The maximiser of :math:`\mathbb E_{\pi}[r] - \beta\, \mathrm{KL}(\pi \| \pi_{\mathrm{ref}})`:

    .. math::

       \pi^*(y) = \frac{\pi_{\mathrm{ref}}(y)\, e^{r(y)/\beta}}{Z},
       \qquad Z = \sum_{y'} \pi_{\mathrm{ref}}(y')\, e^{r(y')/\beta},

    computed with the log-sum-exp shift, so any ``beta > 0`` is safe.
    Section 2.10 (derived in section 2.8).
    """
    pi_ref = as_pmf(pi_ref, "pi_ref", atol=1e-9)
    rewards = _as_rewards(rewards, pi_ref.size)
    beta = as_positive(beta, "beta")
    with np.errstate(divide="ignore"):
        logits = np.log(pi_ref) + rewards / beta
    logits -= logits.max()
    p = np.exp(logits)
    return p / p.sum()


def _penalised_gradient(y, proxy, log_pi, log_ref, phi, beta):
    """The estimate of :func:`policy_gradient_estimate` on checked arrays."""
    G = y.size
    score = proxy[y] - beta * (log_pi[y] - log_ref[y])  # r~ = r - beta log(pi/pi_ref)
    adv = score - (score.sum() - score) / (G - 1)  # leave-one-out baseline b_i
    grad_log_pi = phi[y] - np.exp(log_pi) @ phi  # phi(y_i) - E_pi[phi]
    return adv @ grad_log_pi / G  # (1/G) sum_i (r~_i - b_i) grad log pi(y_i)


def policy_gradient_estimate(theta, responses, proxy, pi_ref, features,
                             beta: float = 0.0) -> np.ndarray:
    r"""One policy-gradient estimate for the log-linear policy of :func:`train`.

    For :math:`\pi_\theta \propto \pi_{\mathrm{ref}}\, e^{\theta^\top \phi}`
    and responses :math:`y_1, \dots, y_G` (``responses``, :math:`G \ge 2`),
    with :math:`\tilde r_i = r(y_i) - \beta \log(\pi_\theta(y_i) /
    \pi_{\mathrm{ref}}(y_i))` and :math:`b_i` the mean of the other
    :math:`\tilde r_j`, returns

    .. math::

       \hat g = \frac1G \sum_i (\tilde r_i - b_i)\,
       (\phi(y_i) - \mathbb E_{\pi_\theta}[\phi]),

    whose expectation over i.i.d. draws from :math:`\pi_\theta` is the exact
    gradient of :math:`\mathbb E_{\pi_\theta}[r] - \beta\,
    \mathrm{KL}(\pi_\theta \| \pi_{\mathrm{ref}})`.  Section 2.10.
    """
    pi_ref = as_pmf(pi_ref, "pi_ref", atol=1e-9)
    if (pi_ref <= 0).any():
        raise ValueError("pi_ref must give every response positive probability")
    K = pi_ref.size
    proxy = _as_rewards(proxy, K, "proxy")
    phi = np.asarray(features, dtype=float)
    if phi.ndim != 2 or phi.shape[0] != K or not np.isfinite(phi).all():
        raise ValueError(f"features must be a finite array of shape ({K}, D), got {phi.shape}")
    theta = np.asarray(theta, dtype=float)
    if theta.shape != (phi.shape[1],) or not np.isfinite(theta).all():
        raise ValueError(f"theta must be a finite array of shape ({phi.shape[1]},)")
    y = np.asarray(responses)
    if y.ndim != 1 or y.size < 2 or not np.issubdtype(y.dtype, np.integer) \
            or (y < 0).any() or (y >= K).any():
        raise ValueError(f"responses must be >= 2 integer indices in [0, {K})")
    try:
        beta = float(beta)
    except (TypeError, ValueError):
        raise ValueError(f"beta must be a finite number >= 0, got {beta!r}") from None
    if not (np.isfinite(beta) and beta >= 0):
        raise ValueError(f"beta must be a finite number >= 0, got {beta}")
    logits = np.log(pi_ref) + phi @ theta
    logits -= logits.max()
    log_pi = logits - np.log(np.exp(logits).sum())
    return _penalised_gradient(y, proxy, log_pi, np.log(pi_ref), phi, beta)


@dataclass(frozen=True)
class Config:
    """Hyperparameters of the policy-gradient optimiser of :func:`train`."""

    beta: float = 0.0  # KL penalty: the reward is r(y) - beta log(pi(y) / pi_ref(y))
    lr: float = 0.05  # step size of plain gradient ascent on theta
    group_size: int = 32  # responses sampled per step
    n_steps: int = 2000  # gradient steps
    log_every: int = 20  # record KL and rewards every log_every steps

    def __post_init__(self):
        if not (np.isfinite(self.beta) and self.beta >= 0):
            raise ValueError(f"beta must be a finite number >= 0, got {self.beta}")
        as_positive(self.lr, "lr")
        as_int(self.group_size, "group_size", minimum=2)
        as_int(self.n_steps, "n_steps", minimum=1)
        as_int(self.log_every, "log_every", minimum=1)


@dataclass
class History:
    """What :func:`train` returns.

    At each logged step ``steps[k]`` (0 is the start), ``kl[k]`` is the exact
    :math:`\\mathrm{KL}(\\pi \\| \\pi_{\\mathrm{ref}})` and ``proxy[k]`` and
    ``gold[k]`` the exact expected rewards :math:`\\mathbb E_\\pi[r]` of the
    policy (``gold`` stays empty without a gold reward).  ``probs`` is the
    final policy and ``theta`` its parameters.
    """

    steps: list = field(default_factory=list)
    kl: list = field(default_factory=list)
    proxy: list = field(default_factory=list)
    gold: list = field(default_factory=list)
    probs: np.ndarray | None = None
    theta: np.ndarray | None = None
    wall_time: float = 0.0
    config: Config | None = None


def train(proxy, pi_ref, features, config: Config = Config(), seed: int = 0, gold=None,
          progress: bool = True) -> History:
    r"""Optimise a log-linear policy over the responses for the reward ``proxy``.

    The policy tilts the reference policy along the response features
    :math:`\phi(y)` (``features``, shape ``(K, D)``):

    .. math::

       \pi_\theta(y) = \frac{\pi_{\mathrm{ref}}(y)\, e^{\theta^\top \phi(y)}}{Z(\theta)},
       \qquad \nabla_\theta \log \pi_\theta(y) = \phi(y) - \mathbb E_{\pi_\theta}[\phi],

    started at :math:`\theta = 0` (:math:`\pi_\theta = \pi_{\mathrm{ref}}`).
    Each step samples ``group_size`` responses :math:`y_1, \dots, y_G` from
    :math:`\pi_\theta`, scores them with the penalised reward
    :math:`\tilde r_i = r(y_i) - \beta \log(\pi_\theta(y_i) / \pi_{\mathrm{ref}}(y_i))`,
    subtracts the leave-one-out baseline (the mean of the other scores, which
    keeps the estimate unbiased) and ascends

    .. math::

       \hat g = \frac1G \sum_i \Bigl(\tilde r_i - \frac{1}{G-1}\sum_{j \ne i}
       \tilde r_j\Bigr) \nabla_\theta \log \pi_\theta(y_i),

    an unbiased estimate of :math:`\nabla_\theta (\mathbb E_{\pi_\theta}[r] -
    \beta\,\mathrm{KL}(\pi_\theta \| \pi_{\mathrm{ref}}))`.  When ``proxy`` is
    linear in the features, the maximiser :func:`kl_regularized_optimum` is a
    member of the family (:math:`\theta = \hat w / \beta`).  Deterministic for
    a given ``seed``.  Section 2.10.
    """
    pi_ref = as_pmf(pi_ref, "pi_ref", atol=1e-9)
    if (pi_ref <= 0).any():
        raise ValueError("pi_ref must give every response positive probability")
    K = pi_ref.size
    proxy = _as_rewards(proxy, K, "proxy")
    gold = None if gold is None else _as_rewards(gold, K, "gold")
    phi = np.asarray(features, dtype=float)
    if phi.ndim != 2 or phi.shape[0] != K or not np.isfinite(phi).all():
        raise ValueError(f"features must be a finite array of shape ({K}, D), got {phi.shape}")
    if not isinstance(config, Config):
        raise ValueError(f"config must be a reward_models.Config, got {type(config).__name__}")
    rng = as_rng(as_int(seed, "seed", minimum=0))
    G = config.group_size
    log_ref = np.log(pi_ref)
    theta = np.zeros(phi.shape[1])
    history = History(config=config)
    start = time.perf_counter()

    def policy(theta):
        logits = log_ref + phi @ theta  # log pi_ref + theta . phi, up to log Z
        logits -= logits.max()
        log_pi = logits - np.log(np.exp(logits).sum())
        return log_pi, np.exp(log_pi)

    def log_state(step, log_pi, pi):
        history.steps.append(step)
        history.kl.append(float(max(np.sum(pi * (log_pi - log_ref)), 0.0)))
        history.proxy.append(float(pi @ proxy))
        if gold is not None:
            history.gold.append(float(pi @ gold))

    log_pi, pi = policy(theta)
    log_state(0, log_pi, pi)
    bar = progress_bar(range(1, config.n_steps + 1), desc="policy gradient",
                       disable=not progress, mininterval=0.5)
    for step in bar:
        y = rng.choice(K, size=G, p=pi)  # G responses from pi_theta
        # (1/G) sum_i (r~_i - b_i) grad log pi(y_i), r~ = r - beta log(pi/pi_ref)
        grad = _penalised_gradient(y, proxy, log_pi, log_ref, phi, config.beta)
        theta = theta + config.lr * grad
        log_pi, pi = policy(theta)
        if step % config.log_every == 0 or step == config.n_steps:
            log_state(step, log_pi, pi)
    bar.close()
    history.probs = pi
    history.theta = theta
    history.wall_time = time.perf_counter() - start
    return history


def gao_curve(d, alpha, beta, form: str):
    r"""The gold-reward curves of Gao, Schulman and Hilton (2023).

    With :math:`d = \sqrt{\mathrm{KL}(\pi \| \pi_{\mathrm{ref}})}`, the change
    of gold reward from :math:`\pi_{\mathrm{ref}}` is modelled as

    .. math::

       R_{\mathrm{bon}}(d) = d\,(\alpha - \beta d), \qquad
       R_{\mathrm{RL}}(d) = d\,(\alpha - \beta \log d),

    ``form`` is ``"bon"`` or ``"rl"``; :math:`R_{\mathrm{RL}}(0) = 0` (the
    limit).  Section 2.10.
    """
    d = np.asarray(d, dtype=float)
    if (d < 0).any() or not np.isfinite(d).all():
        raise ValueError("d must be finite and >= 0 (it is the square root of a KL)")
    if form == "bon":
        return d * (alpha - beta * d)
    if form == "rl":
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(d > 0, d * (alpha - beta * np.log(np.where(d > 0, d, 1.0))), 0.0)
    raise ValueError(f"form must be 'bon' or 'rl', got {form!r}")


def fit_gao(d, reward, form: str):
    r"""Least-squares fit of :func:`gao_curve` to measured points.

    ``reward`` is the gold reward *minus its value at* :math:`\pi_{\mathrm{ref}}`.
    Both forms are linear in :math:`(\alpha, \beta)`
    (:math:`\alpha d - \beta d^2` and :math:`\alpha d - \beta d \log d`), so
    the fit is one linear least-squares solve.  Returns ``(alpha, beta, r2)``
    with :math:`R^2 = 1 - \sum (R_i - \hat R_i)^2 / \sum (R_i - \bar R)^2`.
    Section 2.10.
    """
    d = np.asarray(d, dtype=float)
    reward = np.asarray(reward, dtype=float)
    if d.ndim != 1 or d.shape != reward.shape or d.size < 3:
        raise ValueError("d and reward must be 1-D arrays of the same length >= 3, got "
                         f"shapes {d.shape} and {reward.shape}")
    if not np.isfinite(reward).all():
        raise ValueError("reward must hold finite numbers")
    gao_curve(d, 0.0, 0.0, form)  # checks d and form
    if form == "bon":
        X = np.column_stack([d, -d**2])
    else:
        X = np.column_stack([d, -d * np.log(np.where(d > 0, d, 1.0))])
    (alpha, beta), *_ = np.linalg.lstsq(X, reward, rcond=None)
    resid = reward - X @ np.array([alpha, beta])
    total = np.sum((reward - reward.mean()) ** 2)
    if total == 0:
        raise ValueError("reward is constant: R^2 is undefined")
    return float(alpha), float(beta), float(1.0 - np.sum(resid**2) / total)
