r"""Group Relative Policy Optimization (GRPO) for a language model (book section 2.9).

One file, read top to bottom: the group-relative advantage
(:func:`group_advantages`), the loss (:func:`grpo_loss`), the hyperparameters
(:class:`Config`) and :func:`train`, which is the whole algorithm of
DeepSeekMath (Shao et al., 2024).  For each prompt :math:`x` the policy draws a
*group* of :math:`G` responses :math:`y_1, \dots, y_G \sim \pi_{\text{old}}(\cdot
\mid x)`, a verifier scores them, :math:`r_1, \dots, r_G`, and every token of
:math:`y_i` gets the same advantage

.. math::

   \hat A_i = \frac{r_i - \operatorname{mean}(r_1, \dots, r_G)}
                   {\operatorname{std}(r_1, \dots, r_G) + \varepsilon} .

The group mean plays the part of the critic's baseline :math:`V(x)`: there is
no value network.  The policy then ascends PPO's clipped surrogate per token,
with the ratio :math:`\rho_{i,t} = \pi_\theta(y_{i,t} \mid x, y_{i,<t}) /
\pi_{\text{old}}(y_{i,t} \mid x, y_{i,<t})`, minus :math:`\beta` times the
:math:`k_3` estimate of the KL divergence to the reference policy:

.. math::

   J(\theta) = \frac1G \sum_{i=1}^G \frac{1}{|y_i|} \sum_{t=1}^{|y_i|}
   \Bigl[\min\bigl(\rho_{i,t} \hat A_i,\ \operatorname{clip}(\rho_{i,t}, 1 - \epsilon,
   1 + \epsilon) \hat A_i\bigr) - \beta\, k_3\bigl(\tfrac{\pi_{\text{ref}}}{\pi_\theta}
   \bigr)_{i,t}\Bigr], \qquad k_3(u) = u - \log u - 1 .

The known biases of this objective and their fixes are options:
``scale`` in :func:`group_advantages` (``'std'``: GRPO; ``'batch'``: one std for
the whole batch; ``'none'``: Dr. GRPO) and ``aggregation`` in :func:`grpo_loss`
(``'sequence'``: GRPO's :math:`1/|y_i|`; ``'token'``: DAPO's mean over all tokens
of the batch; ``'dr_grpo'``: a constant divisor, the generation budget).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .._checks import as_int
from ..progress import progress_bar
from .common import _clip_grad, deterministic, kl_estimates
from .toylm import TinyLM, decode_responses, sample, token_logps

__all__ = ["group_advantages", "grpo_loss", "Config", "History", "train"]

SCALES = ("std", "batch", "none")
AGGREGATIONS = ("sequence", "token", "dr_grpo")


def _finite_number(value, name, minimum=None, strict=False):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.floating,
                                                                       np.integer)):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if not np.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if minimum is not None and (value <= minimum if strict else value < minimum):
        raise ValueError(f"{name} must be {'>' if strict else '>='} {minimum}, got {value!r}")
    return float(value)


def group_advantages(rewards, scale: str = "std", eps: float = 1e-6) -> np.ndarray:
    r"""Group-relative advantages of rewards shaped (n_prompts, group_size).

    Row :math:`b` holds the rewards :math:`r_{b,1}, \dots, r_{b,G}` of the
    :math:`G` responses to prompt :math:`b`.  The group mean is the baseline:

    .. math::

       \hat A_{b,i} = \frac{r_{b,i} - \bar r_b}{s + \varepsilon}, \qquad
       \bar r_b = \frac1G \sum_{j} r_{b,j},

    with :math:`s` the *sample* standard deviation (divisor :math:`G - 1`, as
    ``torch.std``) of the group (``scale='std'``, GRPO), of all the rewards of
    the batch (``'batch'``), or :math:`s + \varepsilon = 1` (``'none'``, Dr. GRPO).
    A group whose rewards are all equal carries no signal and gets advantages
    exactly 0 (never ``nan``, even with ``eps = 0``).

    Parameters
    ----------
    rewards : array_like or torch.Tensor, shape (n_prompts, group_size)
        Finite; ``group_size >= 2``.
    scale : {'std', 'batch', 'none'}
    eps : float
        ``>= 0``, added to the standard deviation.

    Returns
    -------
    numpy.ndarray, shape (n_prompts, group_size), float64
    """
    if isinstance(rewards, torch.Tensor):
        rewards = rewards.detach().cpu().numpy()
    try:
        r = np.asarray(rewards, dtype=float)
    except (TypeError, ValueError):
        raise ValueError("rewards must be an array of numbers shaped (n_prompts, group_size)") from None
    if r.ndim != 2 or r.shape[0] < 1 or r.shape[1] < 2:
        raise ValueError(
            f"rewards must have shape (n_prompts >= 1, group_size >= 2), got {r.shape}")
    if not np.isfinite(r).all():
        raise ValueError("rewards must be finite (no nan or inf)")
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
    eps = _finite_number(eps, "eps", minimum=0.0)
    flat_group = (r == r[:, :1]).all(axis=1)  # all rewards equal: no signal
    centred = r - r.mean(axis=1, keepdims=True)  # r - mean of its group
    centred[flat_group] = 0.0  # exactly, whatever the rounding of the mean
    if scale == "none":
        return centred
    if scale == "std":
        s = r.std(axis=1, ddof=1, keepdims=True)  # one std per group (per prompt)
    else:
        s = np.full((r.shape[0], 1), r.std(ddof=1) if r.size > 1 else 0.0)  # one for all
    denominator = s + eps
    out = np.zeros_like(centred)
    np.divide(centred, denominator, out=out, where=denominator > 0)
    return out


def grpo_loss(logps: torch.Tensor, old_logps: torch.Tensor, ref_logps: torch.Tensor,
              advantages, response_mask: torch.Tensor, clip_eps: float = 0.2,
              beta: float = 0.04, aggregation: str = "sequence",
              max_tokens: int | None = None) -> torch.Tensor:
    r"""The GRPO loss :math:`-J(\theta)` of a batch of sampled responses (minimise it).

    Per response token :math:`(i, t)`, with :math:`\rho = \exp(\log\pi_\theta -
    \log\pi_{\text{old}})` and :math:`u = \exp(\log\pi_{\text{ref}} - \log\pi_\theta)`:

    .. math::

       \ell_{i,t} = \min\bigl(\rho \hat A_i,\ \operatorname{clip}(\rho, 1-\epsilon,
       1+\epsilon)\hat A_i\bigr) - \beta\,(u - \log u - 1),

    and the loss is minus their aggregate over the :math:`B` responses of the batch:

    * ``'sequence'`` (GRPO): :math:`\frac1B \sum_i \frac1{|y_i|} \sum_t \ell_{i,t}`;
    * ``'token'`` (DAPO): :math:`\sum_{i,t} \ell_{i,t} \,/\, \sum_i |y_i|` over the
      batch (the DAPO paper writes it per group of :math:`G`; the two agree for
      one prompt per batch);
    * ``'dr_grpo'`` (Dr. GRPO): :math:`\sum_{i,t} \ell_{i,t} \,/\, (B \cdot
      \text{max\_tokens})`, a constant divisor.

    Parameters
    ----------
    logps : torch.Tensor, shape (B, T)
        Per-token :math:`\log\pi_\theta` (with its graph), 0 off the response, as
        :func:`sprl.rl.toylm.token_logps` returns.
    old_logps, ref_logps : torch.Tensor, shape (B, T)
        The same under the sampling policy and the reference (no gradient flows).
    advantages : array_like or torch.Tensor, shape (B,)
        One advantage per response, e.g. ``group_advantages(...).ravel()``.
    response_mask : torch.BoolTensor, shape (B, T)
        The response tokens; every row holds at least one.
    clip_eps : float
        :math:`\epsilon > 0`.
    beta : float
        :math:`\beta \ge 0`, weight of the KL penalty.
    aggregation : {'sequence', 'token', 'dr_grpo'}
    max_tokens : int, optional
        The generation budget (``>=`` every response length); required by ``'dr_grpo'``.

    Returns
    -------
    torch.Tensor
        A scalar.
    """
    if not (logps.ndim == 2 and logps.shape == old_logps.shape == ref_logps.shape
            == response_mask.shape):
        raise ValueError(
            "logps, old_logps, ref_logps and response_mask must share one shape (B, T), got "
            f"{tuple(logps.shape)}, {tuple(old_logps.shape)}, {tuple(ref_logps.shape)}, "
            f"{tuple(response_mask.shape)}")
    mask = response_mask.to(logps.dtype)
    lengths = mask.sum(dim=1)  # |y_i|
    if (lengths == 0).any():
        raise ValueError("response_mask must mark at least one token in every row")
    adv = torch.as_tensor(np.asarray(advantages.detach().cpu() if isinstance(
        advantages, torch.Tensor) else advantages, dtype=float), dtype=logps.dtype)
    if adv.shape != (logps.shape[0],):
        raise ValueError(f"advantages must have shape (B,) = ({logps.shape[0]},), "
                         f"got {tuple(adv.shape)}")
    if not torch.isfinite(adv).all():
        raise ValueError("advantages must be finite")
    clip_eps = _finite_number(clip_eps, "clip_eps", minimum=0.0, strict=True)
    beta = _finite_number(beta, "beta", minimum=0.0)
    if aggregation not in AGGREGATIONS:
        raise ValueError(f"aggregation must be one of {AGGREGATIONS}, got {aggregation!r}")
    if aggregation == "dr_grpo":
        if max_tokens is None:
            raise ValueError("max_tokens must be given for aggregation='dr_grpo'")
        max_tokens = as_int(max_tokens, "max_tokens", minimum=1)
        if lengths.max() > max_tokens:
            raise ValueError(f"max_tokens must be >= every response length, got {max_tokens} "
                             f"< {int(lengths.max())}")

    ratio = torch.exp((logps - old_logps.detach()) * mask)  # rho_{i,t}; 1 off the response
    a = adv[:, None]
    surrogate = torch.minimum(ratio * a, torch.clamp(ratio, 1 - clip_eps, 1 + clip_eps) * a)
    _, k3 = kl_estimates(logps * mask, ref_logps.detach() * mask)  # u - log u - 1, u = ref/theta
    per_token = (surrogate - beta * k3) * mask  # l_{i,t}, 0 off the response
    if aggregation == "sequence":  # GRPO: mean over tokens, then over responses
        objective = (per_token.sum(dim=1) / lengths).mean()
    elif aggregation == "token":  # DAPO: every token of the batch weighs the same
        objective = per_token.sum() / lengths.sum()
    else:  # Dr. GRPO: a constant divisor, no length in the weights
        objective = per_token.sum() / (logps.shape[0] * max_tokens)
    return -objective


@dataclass(frozen=True)
class Config:
    """Hyperparameters of GRPO (all in one place)."""

    n_steps: int = 150  # iterations: sample, score, update
    prompts_per_step: int = 16  # B prompts per iteration
    group_size: int = 8  # G responses per prompt
    max_new_tokens: int = 8  # generation budget per response (its EOS included)
    temperature: float = 1.0  # sampling temperature of the rollouts
    lr: float = 1e-2  # Adam step size
    n_updates: int = 2  # gradient steps per batch (mu); the first one is on-policy
    clip_eps: float = 0.2  # PPO clip range of the ratio
    beta: float = 0.01  # weight of the k3 KL penalty to pi_ref
    scale: str = "std"  # advantage scale: 'std' (GRPO) | 'batch' | 'none' (Dr. GRPO)
    aggregation: str = "sequence"  # 'sequence' (GRPO) | 'token' (DAPO) | 'dr_grpo'
    adv_eps: float = 1e-6  # added to the std of the advantages
    max_grad_norm: float = 1.0  # clip the gradient norm of each step
    eval_every: int = 10  # call eval_fn every eval_every iterations (and at the start, end)

    def __post_init__(self):
        for name in ("n_steps", "prompts_per_step", "max_new_tokens", "n_updates", "eval_every"):
            as_int(getattr(self, name), name, minimum=1)
        as_int(self.group_size, "group_size", minimum=2)
        _finite_number(self.temperature, "temperature", minimum=0.0, strict=True)
        _finite_number(self.lr, "lr", minimum=0.0, strict=True)
        _finite_number(self.clip_eps, "clip_eps", minimum=0.0, strict=True)
        _finite_number(self.beta, "beta", minimum=0.0)
        _finite_number(self.adv_eps, "adv_eps", minimum=0.0)
        _finite_number(self.max_grad_norm, "max_grad_norm", minimum=0.0)
        if self.scale not in SCALES:
            raise ValueError(f"scale must be one of {SCALES}, got {self.scale!r}")
        if self.aggregation not in AGGREGATIONS:
            raise ValueError(
                f"aggregation must be one of {AGGREGATIONS}, got {self.aggregation!r}")


@dataclass
class History:
    r"""What :func:`train` returns: one entry per iteration unless said otherwise.

    ``reward`` is the mean reward of the sampled responses, ``kl`` the mean
    per-token :math:`k_3` estimate of :math:`\mathrm{KL}(\pi_\theta \| \pi_{\text{ref}})`
    on them (before the update), ``length`` their mean length in tokens (EOS
    included), ``length_wrong`` the same over responses whose reward is below
    the best of their group (``nan`` if none), ``flat_groups`` the fraction of
    groups with all rewards equal (no gradient) and ``clip_fraction`` the
    fraction of response tokens whose ratio was clipped in the last update.
    ``eval_steps`` / ``eval_values``: when ``eval_fn`` was called and what it
    returned.  ``policy`` is the trained copy; ``wall_time`` in seconds.
    """

    reward: list = field(default_factory=list)
    kl: list = field(default_factory=list)
    length: list = field(default_factory=list)
    length_wrong: list = field(default_factory=list)
    flat_groups: list = field(default_factory=list)
    clip_fraction: list = field(default_factory=list)
    eval_steps: list = field(default_factory=list)
    eval_values: list = field(default_factory=list)
    wall_time: float = 0.0
    policy: Any = None
    config: Any = None


def train(policy: TinyLM, ref_policy: TinyLM, prompts: Sequence[str],
          reward_fn: Callable, config: Config = Config(), seed: int = 0,
          progress: bool = True, eval_fn: Callable | None = None) -> History:
    r"""Fine-tune a copy of ``policy`` by GRPO; deterministic for a given ``seed``.

    Each iteration draws ``prompts_per_step`` prompts (with replacement), samples
    ``group_size`` responses to each with the current policy (which becomes
    :math:`\pi_{\text{old}}`), scores them with ``reward_fn``, computes
    :func:`group_advantages` and takes ``n_updates`` Adam steps on
    :func:`grpo_loss`.  ``policy`` and ``ref_policy`` are left unchanged.

    Parameters
    ----------
    policy, ref_policy : TinyLM
        The starting policy and :math:`\pi_{\text{ref}}` (usually the same model).
    prompts : list of str
        Training prompts, all of one length.
    reward_fn : callable
        ``reward_fn(prompts, responses)`` with two lists of str (a response
        without its EOS; one that never ended has ``max_new_tokens`` characters)
        returns one finite reward per response.
    eval_fn : callable, optional
        ``eval_fn(policy) -> float``, e.g. a pass rate on held-out prompts.
    """
    if not isinstance(config, Config):
        raise ValueError(f"config must be a grpo.Config, got {type(config).__name__}")
    if not isinstance(policy, TinyLM) or not isinstance(ref_policy, TinyLM):
        raise ValueError("policy and ref_policy must be TinyLM models")
    prompts = list(prompts)
    if not prompts or len({len(p) for p in prompts}) != 1:
        raise ValueError("prompts must be a non-empty list of strings of one length")
    seed = as_int(seed, "seed", minimum=0)
    with deterministic(seed):  # one thread, torch seeded; global state restored after
        return _train(policy, ref_policy, prompts, reward_fn, config, seed, progress, eval_fn)


def _train(policy, ref_policy, prompts, reward_fn, config, seed, progress, eval_fn):
    policy = copy.deepcopy(policy)
    policy.requires_grad_(True)  # the copy learns even if the model given was frozen
    policy.train()
    ref_policy.eval()
    optimizer = torch.optim.Adam(policy.parameters(), lr=config.lr)
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    generator = torch.Generator().manual_seed(seed)
    B, G = config.prompts_per_step, config.group_size
    history = History(config=config)
    start = time.perf_counter()

    def evaluate(step):
        if eval_fn is not None:
            history.eval_steps.append(step)
            history.eval_values.append(float(eval_fn(policy)))

    evaluate(0)
    bar = progress_bar(total=config.n_steps, disable=not progress, desc="GRPO", unit="step")
    for step in range(1, config.n_steps + 1):
        # ---- 1. a group of G responses to each of B prompts, y ~ pi_old(.|x) -----------
        batch_prompts = [prompts[k] for k in rng.integers(len(prompts), size=B) for _ in range(G)]
        tokens, mask = sample(policy, batch_prompts, config.max_new_tokens,
                              config.temperature, generator)
        responses = decode_responses(tokens, mask)
        rewards = np.asarray(reward_fn(batch_prompts, responses), dtype=float)
        if rewards.shape != (B * G,) or not np.isfinite(rewards).all():
            raise ValueError(f"reward_fn must return {B * G} finite rewards, got shape "
                             f"{rewards.shape}")
        rewards = rewards.reshape(B, G)

        # ---- 2. group-relative advantages: A_i = (r_i - mean) / (std + eps) -------------
        adv = group_advantages(rewards, config.scale, config.adv_eps).ravel()
        with torch.no_grad():
            old_logps = token_logps(policy, tokens, mask)  # pi_old: fixed during the updates
            ref_logps = token_logps(ref_policy, tokens, mask)

        # ---- 3. n_updates steps on the clipped surrogate minus beta * k3 ---------------
        for _ in range(config.n_updates):
            logps = token_logps(policy, tokens, mask)
            loss = grpo_loss(logps, old_logps, ref_logps, adv, mask, config.clip_eps,
                             config.beta, config.aggregation, config.max_new_tokens)
            optimizer.zero_grad()
            loss.backward()
            _clip_grad(policy.parameters(), config.max_grad_norm)
            optimizer.step()

        # ---- 4. log ------------------------------------------------------------------
        m = mask.float()
        lengths = m.sum(dim=1).numpy()
        _, k3 = kl_estimates(old_logps, ref_logps)  # before the update, y ~ pi_old
        with torch.no_grad():
            ratio = torch.exp(logps.detach() - old_logps)
        clipped = ((ratio - 1).abs() > config.clip_eps) & mask
        wrong = (rewards < rewards.max(axis=1, keepdims=True)).ravel()
        history.reward.append(float(rewards.mean()))
        history.kl.append(float((k3 * m).sum() / m.sum()))
        history.length.append(float(lengths.mean()))
        history.length_wrong.append(float(lengths[wrong].mean()) if wrong.any() else float("nan"))
        history.flat_groups.append(float((rewards == rewards[:, :1]).all(axis=1).mean()))
        history.clip_fraction.append(float(clipped.sum() / mask.sum()))
        if step % config.eval_every == 0 or step == config.n_steps:
            evaluate(step)
        bar.update(1)
        bar.set_postfix(reward=f"{history.reward[-1]:.2f}")
    bar.close()
    history.wall_time = time.perf_counter() - start
    history.policy = policy
    return history
