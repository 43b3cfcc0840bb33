r"""A small autoregressive language model that trains on a CPU (book sections 2.8-2.10).

The chapters on preference learning and RL for language models need a policy
over *sequences*: :math:`\pi_\theta(y \mid x) = \prod_{t} \pi_\theta(y_t \mid x,
y_{<t})`, for a prompt :math:`x` and a response :math:`y = (y_1, \dots, y_L)`
that ends with an end-of-sequence token.  This module gives one, small enough to
pre-train in seconds: a character vocabulary (:data:`VOCAB`), a GRU language
model (:class:`TinyLM`), batched sampling (:func:`sample`), the log-probability
of a response given its prompt (:func:`token_logps`, :func:`sequence_logps`)
and supervised pre-training (:func:`pretrain`), which makes the reference
policy :math:`\pi_{\text{ref}}` that DPO and GRPO start from.

Layout of a batch (:func:`encode_batch`): each row is ``BOS prompt response
EOS`` followed by ``PAD``.  ``response_mask`` marks the response tokens and
their ``EOS``: exactly the tokens whose log-probabilities make up
:math:`\log \pi_\theta(y \mid x) = \sum_{t \in \text{response}} \log
\pi_\theta(\text{token}_t \mid \text{tokens}_{<t})`.  The prompt is given, not
generated, so it never counts.  All prompts of a batch have the same length,
so that responses start in the same column.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .._checks import as_int
from ..progress import progress_bar

__all__ = [
    "Vocab", "VOCAB", "TinyLM", "encode_batch", "sample", "token_logps",
    "sequence_logps", "decode_responses", "pretrain",
]


@dataclass(frozen=True)
class Vocab:
    """A character vocabulary with three special tokens: ``PAD = 0``, ``BOS = 1``, ``EOS = 2``."""

    chars: str

    pad = 0
    bos = 1
    eos = 2

    def __post_init__(self):
        if len(set(self.chars)) != len(self.chars):
            raise ValueError("chars must not repeat a character")

    @property
    def size(self) -> int:
        """Number of tokens, the three special ones included."""
        return len(self.chars) + 3

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` (no special tokens added)."""
        index = {c: i + 3 for i, c in enumerate(self.chars)}
        try:
            return [index[c] for c in text]
        except KeyError as e:
            raise ValueError(f"text holds a character outside the vocabulary: {e.args[0]!r}") from None

    def decode(self, ids) -> str:
        """Text of ``ids``; special tokens are dropped."""
        return "".join(self.chars[i - 3] for i in (int(i) for i in ids) if i >= 3)


#: The vocabulary of every chapter: digits, lowercase letters and a few signs.
VOCAB = Vocab("0123456789abcdefghijklmnopqrstuvwxyz+-=?:, ")


class TinyLM(nn.Module):
    r"""A GRU language model: embedding, one GRU layer, a linear head to the logits.

    ``model(tokens)`` returns logits of shape (B, T, V); ``logits[:, t]`` is the
    law of token ``t + 1`` given ``tokens[:, :t + 1]``.  With the defaults it has
    about 70,000 parameters.
    """

    def __init__(self, vocab_size: int = VOCAB.size, embed: int = 32, hidden: int = 128):
        super().__init__()
        self.vocab_size = as_int(vocab_size, "vocab_size", minimum=4)
        self.embed = nn.Embedding(self.vocab_size, as_int(embed, "embed", minimum=1))
        self.gru = nn.GRU(embed, as_int(hidden, "hidden", minimum=1), batch_first=True)
        self.head = nn.Linear(hidden, self.vocab_size)

    def forward(self, tokens: torch.Tensor, state: torch.Tensor | None = None,
                return_state: bool = False):
        """Logits (B, T, V) of the next token after each position (and the GRU state)."""
        out, state = self.gru(self.embed(tokens), state)
        logits = self.head(out)
        return (logits, state) if return_state else logits


def encode_batch(prompts: Sequence[str], responses: Sequence[str] | None = None,
                 vocab: Vocab = VOCAB):
    """Token ids of ``BOS prompt [response EOS]`` per row, right-padded with ``PAD``.

    Returns
    -------
    tokens : torch.LongTensor, shape (B, T)
    response_mask : torch.BoolTensor, shape (B, T)
        True at the response tokens and their ``EOS`` (all False without responses).
    """
    prompts = list(prompts)
    if not prompts:
        raise ValueError("prompts must hold at least one prompt")
    lengths = {len(p) for p in prompts}
    if len(lengths) != 1:
        raise ValueError(f"prompts must all have the same length, got lengths {sorted(lengths)}")
    if responses is not None and len(responses) != len(prompts):
        raise ValueError(
            f"responses must be as many as prompts ({len(prompts)}), got {len(responses)}")
    start = 1 + lengths.pop()  # column of the first response token
    rows, masks = [], []
    for i, prompt in enumerate(prompts):
        row = [vocab.bos] + vocab.encode(prompt)
        if responses is not None:
            row += vocab.encode(responses[i]) + [vocab.eos]
        rows.append(row)
    width = max(len(r) for r in rows)
    tokens = torch.full((len(rows), width), vocab.pad, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.bool)
    for i, row in enumerate(rows):
        tokens[i, :len(row)] = torch.tensor(row)
        mask[i, start:len(row)] = True
    return tokens, mask


@torch.no_grad()
def sample(model: TinyLM, prompts, max_new_tokens: int, temperature: float = 1.0,
           generator: torch.Generator | None = None, vocab: Vocab = VOCAB):
    r"""Sample one response per prompt: :math:`y_t \sim \mathrm{softmax}(\text{logits}_t / T)`.

    Batched: all rows advance together, one GRU step per token.  A row stops at its
    ``EOS`` (kept, as part of the response) and is padded after it; a row that reaches
    ``max_new_tokens`` without ``EOS`` ends there, unterminated.

    Parameters
    ----------
    prompts : list of str (same length) or torch.LongTensor (B, P) that starts with BOS
    max_new_tokens : int
    temperature : float
        ``> 0``; 1 samples the model's own law, smaller is greedier.
    generator : torch.Generator, optional
        Makes the draw reproducible.

    Returns
    -------
    tokens, response_mask : as :func:`encode_batch`, shape (B, P + L) with L <= max_new_tokens.
    """
    max_new_tokens = as_int(max_new_tokens, "max_new_tokens", minimum=1)
    if not (isinstance(temperature, (int, float)) and np.isfinite(temperature) and temperature > 0):
        raise ValueError(f"temperature must be a finite number > 0, got {temperature!r}")
    if isinstance(prompts, torch.Tensor):
        prompt_tokens = prompts.long()
        if prompt_tokens.ndim != 2 or not (prompt_tokens[:, 0] == vocab.bos).all():
            raise ValueError("prompts as a tensor must have shape (B, P) and start with BOS")
    else:
        prompt_tokens, _ = encode_batch(prompts, vocab=vocab)
    batch = prompt_tokens.shape[0]
    logits, state = model(prompt_tokens, return_state=True)
    last = logits[:, -1]
    new = torch.full((batch, max_new_tokens), vocab.pad, dtype=torch.long)
    alive = torch.ones(batch, dtype=torch.bool)
    lengths = torch.zeros(batch, dtype=torch.long)
    for t in range(max_new_tokens):
        probs = torch.softmax(last / temperature, dim=-1)
        token = torch.multinomial(probs, 1, generator=generator).squeeze(-1)
        new[:, t] = torch.where(alive, token, vocab.pad)
        lengths += alive.long()
        alive &= token != vocab.eos
        if not alive.any():
            break
        logits, state = model(token.unsqueeze(-1), state, return_state=True)
        last = logits[:, -1]
    width = int(lengths.max())
    tokens = torch.cat([prompt_tokens, new[:, :width]], dim=1)
    columns = torch.arange(width)
    mask = torch.cat([torch.zeros_like(prompt_tokens, dtype=torch.bool),
                      columns[None, :] < lengths[:, None]], dim=1)
    return tokens, mask


def _check_pair(tokens, response_mask):
    if tokens.ndim != 2 or tokens.shape != response_mask.shape:
        raise ValueError(
            f"response_mask must have the shape of tokens (B, T) {tuple(tokens.shape)}, "
            f"got {tuple(response_mask.shape)}")
    if response_mask[:, 0].any():
        raise ValueError("response_mask must be False in column 0 (BOS is never generated)")


def token_logps(model: TinyLM, tokens: torch.Tensor, response_mask: torch.Tensor) -> torch.Tensor:
    r"""Per-token :math:`\log \pi_\theta(\text{token}_t \mid \text{tokens}_{<t})` on the response.

    Shape (B, T), aligned with ``tokens``; 0 outside the response (prompt, BOS,
    padding).  Differentiable in the model's parameters.
    """
    _check_pair(tokens, response_mask)
    logp = torch.log_softmax(model(tokens[:, :-1]), dim=-1)  # law of tokens 1 .. T-1
    picked = logp.gather(-1, tokens[:, 1:].unsqueeze(-1)).squeeze(-1)
    out = torch.zeros(tokens.shape, dtype=picked.dtype)
    out[:, 1:] = picked
    return out * response_mask


def sequence_logps(model: TinyLM, tokens: torch.Tensor, response_mask: torch.Tensor) -> torch.Tensor:
    r""":math:`\log \pi_\theta(y \mid x) = \sum_{t \in y} \log \pi_\theta(\text{token}_t \mid
    \text{tokens}_{<t})`, one number per row, shape (B,)."""
    return token_logps(model, tokens, response_mask).sum(dim=1)


def decode_responses(tokens: torch.Tensor, response_mask: torch.Tensor,
                     vocab: Vocab = VOCAB) -> list[str]:
    """The responses as text, without their ``EOS``."""
    _check_pair(tokens, response_mask)
    return [vocab.decode(row[m].tolist()) for row, m in zip(tokens, response_mask)]


def pretrain(model: TinyLM, prompts: Sequence[str], responses: Sequence[str], n_steps: int,
             batch_size: int = 64, lr: float = 3e-3, seed: int = 0,
             progress: bool = True) -> list[float]:
    r"""Supervised pre-training: maximum likelihood of the responses given the prompts.

    Each step draws ``batch_size`` pairs (with replacement) and takes an Adam step on
    the mean negative log-likelihood per response token,

    .. math::

       \mathcal L(\theta) = -\frac{1}{\#\text{tokens}} \sum_i \sum_{t \in y_i}
       \log \pi_\theta(\text{token}_{i,t} \mid \text{tokens}_{i,<t}),

    the prompt tokens masked out.  Deterministic for a given ``seed``.

    Returns
    -------
    list of float
        The loss of every step.
    """
    n_steps = as_int(n_steps, "n_steps", minimum=1)
    batch_size = as_int(batch_size, "batch_size", minimum=1)
    if not (isinstance(lr, (int, float)) and np.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
    tokens, mask = encode_batch(prompts, responses)
    rng = np.random.default_rng(np.random.SeedSequence(as_int(seed, "seed", minimum=0)))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    bar = progress_bar(total=n_steps, disable=not progress, desc="pre-training", unit="step")
    for _ in range(n_steps):
        rows = torch.as_tensor(rng.integers(len(tokens), size=batch_size))
        t, m = tokens[rows], mask[rows]
        loss = -token_logps(model, t, m).sum() / m.sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        bar.update(1)
    bar.close()
    return losses
