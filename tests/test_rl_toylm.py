"""Tests of sprl.rl.toylm: the small language model of chapters 2.8-2.10."""

import numpy as np
import pytest
import torch

from sprl.rl import toylm
from sprl.rl.toylm import VOCAB, TinyLM


@pytest.fixture
def model():
    torch.manual_seed(0)
    return TinyLM(embed=8, hidden=16)


def test_vocab_round_trip_and_special_tokens():
    text = "12+34=46, abc?"
    ids = VOCAB.encode(text)
    assert min(ids) >= 3 and VOCAB.decode(ids) == text
    assert VOCAB.decode([VOCAB.bos, *ids, VOCAB.eos, VOCAB.pad]) == text
    with pytest.raises(ValueError, match="outside the vocabulary"):
        VOCAB.encode("A")


def test_encode_batch_layout():
    tokens, mask = toylm.encode_batch(["1+2=", "3+4="], ["3", "77"])
    assert tokens.shape == (2, 8)
    np.testing.assert_array_equal(tokens[0].tolist(),
                                  [VOCAB.bos, *VOCAB.encode("1+2=3"), VOCAB.eos, 0])
    # the response and its EOS, nothing of the prompt or the padding
    assert mask[0].tolist() == [False] * 5 + [True, True, False]
    assert mask[1].tolist() == [False] * 5 + [True, True, True]
    with pytest.raises(ValueError, match="same length"):
        toylm.encode_batch(["1+2=", "10+2="])
    with pytest.raises(ValueError, match="responses must be as many"):
        toylm.encode_batch(["1+2="], ["3", "4"])


def test_sequence_logp_is_the_chain_rule_product(model):
    """log pi(y|x) = sum over response tokens of log-softmax of one GRU step at a time."""
    tokens, mask = toylm.encode_batch(["ab", "cd"], ["xyz", "q"])
    got = toylm.sequence_logps(model, tokens, mask)
    with torch.no_grad():
        for i in range(2):
            state, total = None, 0.0
            row = tokens[i]
            for t in range(len(row) - 1):
                logits, state = model(row[None, t:t + 1], state, return_state=True)
                if mask[i, t + 1]:
                    total += torch.log_softmax(logits[0, -1], -1)[row[t + 1]].item()
            assert abs(got[i].item() - total) < 1e-5


def test_prompt_and_padding_do_not_count(model):
    tokens, mask = toylm.encode_batch(["ab"], ["xyz"])
    per_token = toylm.token_logps(model, tokens, mask)
    assert (per_token[~mask] == 0).all() and (per_token[mask] < 0).all()
    # the same response after a longer right padding has the same log-probability
    padded = torch.cat([tokens, torch.zeros((1, 3), dtype=torch.long)], dim=1)
    padded_mask = torch.cat([mask, torch.zeros((1, 3), dtype=torch.bool)], dim=1)
    assert torch.allclose(toylm.sequence_logps(model, padded, padded_mask),
                          toylm.sequence_logps(model, tokens, mask))
    with pytest.raises(ValueError, match="response_mask must have the shape"):
        toylm.token_logps(model, tokens, mask[:, :-1])


def test_sampling_is_reproducible_and_well_formed(model):
    prompts = ["1+2="] * 64
    a = toylm.sample(model, prompts, 6, generator=torch.Generator().manual_seed(3))
    b = toylm.sample(model, prompts, 6, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    tokens, mask = a
    assert tokens.shape[1] <= 5 + 6 and not mask[:, :5].any()
    for row, m in zip(tokens, mask):
        response = row[m].tolist()
        # EOS, if present, ends the response; padding after it
        if VOCAB.eos in response:
            assert response.index(VOCAB.eos) == len(response) - 1
        assert (row[~m][5:] == VOCAB.pad).all()


def test_sampled_first_tokens_follow_the_model_law(model):
    """Frequencies of the first response token match softmax(logits) (chi-square)."""
    n = 20_000
    tokens, mask = toylm.sample(model, ["ab"] * n, 1,
                                generator=torch.Generator().manual_seed(0))
    counts = np.bincount(tokens[:, 3].numpy(), minlength=VOCAB.size)
    with torch.no_grad():
        probs = torch.softmax(model(toylm.encode_batch(["ab"])[0])[0, -1], -1).numpy()
    expected = n * probs.astype(float)
    chi2 = ((counts - expected) ** 2 / expected).sum()
    assert chi2 < VOCAB.size + 6 * np.sqrt(2 * VOCAB.size)  # mean df, sd sqrt(2 df)


def test_low_temperature_is_greedy(model):
    tokens, _ = toylm.sample(model, ["ab"] * 8, 1, temperature=1e-4,
                             generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        best = model(toylm.encode_batch(["ab"])[0])[0, -1].argmax().item()
    assert (tokens[:, 3] == best).all()
    with pytest.raises(ValueError, match="temperature"):
        toylm.sample(model, ["ab"], 1, temperature=0.0)
    with pytest.raises(ValueError, match="max_new_tokens"):
        toylm.sample(model, ["ab"], 0)


def test_pretraining_learns_a_mapping():
    torch.manual_seed(0)
    lm = TinyLM(embed=16, hidden=32)
    prompts = [f"{a}+{b}=" for a in range(10) for b in range(10)]
    answers = [str((a + b) % 10) for a in range(10) for b in range(10)]
    losses = toylm.pretrain(lm, prompts, answers, n_steps=600, batch_size=64, lr=1e-2,
                            seed=0, progress=False)
    assert losses[-1] < 0.25 * losses[0]
    tokens, mask = toylm.sample(lm, prompts, 3, temperature=1e-4,
                                generator=torch.Generator().manual_seed(0))
    got = toylm.decode_responses(tokens, mask)
    accuracy = np.mean([g == a for g, a in zip(got, answers)])
    assert accuracy > 0.9


def test_pretraining_is_deterministic_under_its_seed():
    prompts, answers = ["1+2=", "2+2="], ["3", "4"]
    runs = []
    for _ in range(2):
        torch.manual_seed(1)
        runs.append(toylm.pretrain(TinyLM(embed=8, hidden=16), prompts, answers,
                                   n_steps=5, seed=7, progress=False))
    assert runs[0] == runs[1]
    with pytest.raises(ValueError, match="lr"):
        toylm.pretrain(TinyLM(), prompts, answers, n_steps=1, lr=0)
