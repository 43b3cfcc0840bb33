"""Tests of sprl.rl.grpo: group-relative advantages, the GRPO loss and its training loop.

Mutations applied by hand (2026-12-04), each failing at least one test here: the group
std with ddof=0; the batch std with ddof=0; advantages not centred; centred by the batch
mean instead of the group mean; eps dropped; flat groups not set to exactly 0; k3
written as k1; the KL reversed (k3 of pi_ref || pi_theta); max instead of min; no clip;
the old log-probs not detached; the reference log-probs not detached; the penalty's
sign; the per-token terms not masked; the 'sequence' aggregation computing DAPO's token
mean, and 'token' computing the sequence mean; 'dr_grpo' dividing by the lengths; the
loss's sign; the rewards reshaped (G, B) so that groups mix prompts; the reference
log-probs taken from the policy in train; the old log-probs recomputed at every update;
the batch std taken of the centred rewards; the clip range 1 + 2 eps; train's logged KL
written as k1; train not passing Config.scale, or Config.aggregation, on; length_wrong
counting the best responses too (<= for <); the ratio inverted; the ratio's exponent not
masked.  Six survived at first (the two missing detaches, the reference from the policy,
scale and aggregation not passed, <= in length_wrong); they are caught by
test_no_gradient_flows_through_the_old_and_reference_log_probs,
test_train_passes_its_config_and_logs_by_hand and the KL check of
test_train_learns_a_verifiable_reward_and_is_deterministic.
"""

import copy
import math

import numpy as np
import pytest
import torch

from sprl.rl import grpo, toylm
from sprl.rl.toylm import TinyLM

# ---------------------------------------------------------------- group_advantages


def test_group_advantages_hand_computed():
    # mean 1/2, sample std sqrt((4 * 1/4) / 3) = 1/sqrt(3): advantages +-sqrt(3)/2
    a = grpo.group_advantages([[1.0, 0.0, 0.0, 1.0]], eps=0.0)
    np.testing.assert_allclose(a, np.array([[1, -1, -1, 1]]) * np.sqrt(3) / 2, rtol=1e-12)
    # one right out of four: mean 1/4, std sqrt((9/16 + 3/16) / 3) = 1/2
    a = grpo.group_advantages([[1, 0, 0, 0]], eps=0.0)
    np.testing.assert_allclose(a, [[1.5, -0.5, -0.5, -0.5]], rtol=1e-12)
    # eps enters the denominator: (1 - 1/4) / (1/2 + 1/2)
    a = grpo.group_advantages([[1, 0, 0, 0]], eps=0.5)
    np.testing.assert_allclose(a, [[0.75, -0.25, -0.25, -0.25]], rtol=1e-12)


def test_group_advantages_batch_and_none():
    r = [[1.0, 0.0], [1.0, 1.0]]
    # batch std (divisor 3) of 1, 0, 1, 1: mean 3/4, sum of squares 3/4 -> std 1/2
    np.testing.assert_allclose(grpo.group_advantages(r, "batch", eps=0.0),
                               [[1.0, -1.0], [0.0, 0.0]], rtol=1e-12)
    np.testing.assert_allclose(grpo.group_advantages(r, "none"), [[0.5, -0.5], [0, 0]])
    # the per-group std makes the advantages blind to the reward scale of each prompt;
    # 'none' keeps it, 'batch' only keeps the ratio between prompts
    r = np.array([[3.0, 1.0, 2.0], [0.3, 0.1, 0.2]])
    a = grpo.group_advantages(r, "std", eps=0.0)
    np.testing.assert_allclose(a[0], a[1], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(a[0], [1, -1, 0], atol=1e-12)
    n = grpo.group_advantages(r, "none")
    np.testing.assert_allclose(n[0], 10 * n[1], rtol=1e-12, atol=1e-15)
    b1, b2 = grpo.group_advantages(r, "batch", 0.0), grpo.group_advantages(5 * r + 7, "batch", 0.0)
    np.testing.assert_allclose(b1, b2, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("scale", ["std", "batch", "none"])
def test_equal_rewards_give_exact_zeros_never_nan(scale):
    r = np.array([[0.1, 0.1, 0.1], [1.0, 1.0, 1.0], [0.0, 1.0, 0.0]])
    a = grpo.group_advantages(r, scale, eps=0.0)
    assert np.isfinite(a).all()
    assert (a[:2] == 0).all() and (a[2] != 0).all()
    # every group's advantages sum to 0: the group mean is the baseline
    np.testing.assert_allclose(a.sum(axis=1), 0, atol=1e-12)
    assert (grpo.group_advantages(np.zeros((2, 4)), scale, eps=0.0) == 0).all()


def test_group_advantages_accepts_a_tensor_and_matches_torch_std():
    r = torch.tensor([[0.3, 0.9, 0.1, 0.4, 0.7]])
    want = ((r - r.mean(dim=1, keepdim=True)) / r.std(dim=1, keepdim=True)).numpy()
    np.testing.assert_allclose(grpo.group_advantages(r, eps=0.0), want, rtol=1e-6)


@pytest.mark.parametrize("bad, match", [
    ([1.0, 0.0], "shape"),
    ([[1.0], [0.0]], "group_size >= 2"),
    ([[1.0, np.nan]], "finite"),
    ([[1.0, np.inf]], "finite"),
    ([["a", "b"]], "array of numbers"),
])
def test_group_advantages_bad_rewards(bad, match):
    with pytest.raises(ValueError, match=match):
        grpo.group_advantages(bad)


def test_group_advantages_bad_options():
    with pytest.raises(ValueError, match="scale must be one of"):
        grpo.group_advantages([[1, 0]], scale="mean")
    with pytest.raises(ValueError, match="eps must be >= 0"):
        grpo.group_advantages([[1, 0]], eps=-1e-3)
    with pytest.raises(ValueError, match="eps must be a finite number"):
        grpo.group_advantages([[1, 0]], eps=float("nan"))


# ---------------------------------------------------------------------- grpo_loss

def _batch(per_row_logps, width):
    """(B, T) tensors with row i's values in its first columns, mask marking them."""
    B = len(per_row_logps)
    x = torch.zeros((B, width), dtype=torch.float64)
    mask = torch.zeros((B, width), dtype=torch.bool)
    for i, row in enumerate(per_row_logps):
        x[i, :len(row)] = torch.tensor(row, dtype=torch.float64)
        mask[i, :len(row)] = True
    return x, mask


def test_loss_on_policy_is_minus_the_aggregated_advantage():
    # ratio 1 and pi = pi_ref: every token contributes A_i; lengths 1 and 2
    logps, mask = _batch([[-0.5], [-1.0, -2.0]], 3)
    adv = [1.0, -1.0]
    loss = {agg: grpo.grpo_loss(logps, logps, logps, adv, mask, aggregation=agg,
                                max_tokens=4).item()
            for agg in grpo.AGGREGATIONS}
    assert loss["sequence"] == pytest.approx(-(1.0 + -1.0) / 2)  # mean of per-row means
    assert loss["token"] == pytest.approx(-(1.0 - 2.0) / 3)  # mean over the 3 tokens
    assert loss["dr_grpo"] == pytest.approx(-(1.0 - 2.0) / (2 * 4))  # B * max_tokens


@pytest.mark.parametrize("ratio, adv, value, grad", [
    (1.5, 1.0, -1.2, 0.0),  # clipped at 1 + eps: no gradient
    (1.5, -1.0, 1.5, 1.5),  # the min keeps the unclipped, worse term
    (0.5, 1.0, -0.5, -0.5),  # unclipped
    (0.5, -1.0, 0.8, 0.0),  # clipped at 1 - eps
])
def test_clipped_surrogate_value_and_gradient(ratio, adv, value, grad):
    old = torch.tensor([[-1.0]], dtype=torch.float64)
    logps = (old + math.log(ratio)).requires_grad_()
    mask = torch.ones((1, 1), dtype=torch.bool)
    loss = grpo.grpo_loss(logps, old, logps.detach(), [adv], mask, clip_eps=0.2, beta=0.0)
    loss.backward()
    assert loss.item() == pytest.approx(value)
    assert logps.grad.item() == pytest.approx(grad)


def test_k3_penalty_value_and_gradient():
    # pi = 1/2, pi_ref = 1/4: u = 1/2, k3 = u - log u - 1; d k3 / d log pi = 1 - u
    logps = torch.tensor([[math.log(0.5)]], dtype=torch.float64, requires_grad=True)
    ref = torch.tensor([[math.log(0.25)]], dtype=torch.float64)
    mask = torch.ones((1, 1), dtype=torch.bool)
    loss = grpo.grpo_loss(logps, logps.detach(), ref, [0.0], mask, beta=2.0)
    loss.backward()
    assert loss.item() == pytest.approx(2.0 * (0.5 - math.log(0.5) - 1.0))
    assert logps.grad.item() == pytest.approx(2.0 * (1.0 - 0.5))


def test_no_gradient_flows_through_the_old_and_reference_log_probs():
    # on the first, on-policy step old_logps = logps: the ratio is 1 but its gradient is
    # grad log pi (the policy gradient), d/d log pi of (rho A) = A; and the reference is a
    # constant even when handed over with a graph: d k3 / d log pi_ref never reaches it
    adv = [1.5, -0.5]
    mask = torch.ones((2, 1), dtype=torch.bool)
    logps = torch.tensor([[math.log(0.5)], [math.log(0.2)]], dtype=torch.float64,
                         requires_grad=True)
    ref = torch.tensor([[math.log(0.25)], [math.log(0.4)]], dtype=torch.float64,
                       requires_grad=True)
    beta = 0.5
    loss = grpo.grpo_loss(logps, logps, ref, adv, mask, beta=beta)
    loss.backward()
    u = np.array([0.25 / 0.5, 0.4 / 0.2])  # pi_ref / pi
    # loss = -mean_i [rho_i A_i - beta k3_i]: d / d log pi_i = -(A_i - beta (1 - u_i)) / 2
    np.testing.assert_allclose(logps.grad.numpy()[:, 0],
                               -(np.array(adv) - beta * (1 - u)) / 2, rtol=1e-12)
    assert ref.grad is None or torch.count_nonzero(ref.grad) == 0


def _loop_loss(logps, old, ref, adv, mask, clip_eps, beta, aggregation, max_tokens):
    """The GRPO objective written token by token, a second implementation."""
    rows, total, n_tokens = [], 0.0, 0
    for i in range(logps.shape[0]):
        row = 0.0
        L = int(mask[i].sum())
        for t in range(logps.shape[1]):
            if not mask[i, t]:
                continue
            rho = torch.exp(logps[i, t] - old[i, t])
            surr = torch.minimum(rho * adv[i], rho.clamp(1 - clip_eps, 1 + clip_eps) * adv[i])
            u = torch.exp(ref[i, t] - logps[i, t])
            row = row + surr - beta * (u - torch.log(u) - 1)
        rows.append(row / L)
        total, n_tokens = total + row, n_tokens + L
    if aggregation == "sequence":
        return -sum(rows) / len(rows)
    if aggregation == "token":
        return -total / n_tokens
    return -total / (logps.shape[0] * max_tokens)


@pytest.mark.parametrize("aggregation", ["sequence", "token", "dr_grpo"])
def test_loss_and_gradient_match_a_token_loop(aggregation):
    g = torch.Generator().manual_seed(3)
    B, T = 5, 6
    mask = torch.zeros((B, T), dtype=torch.bool)
    for i, L in enumerate([1, 3, 6, 2, 4]):
        mask[i, T - 6:T - 6 + L] = True
    logps = (-torch.rand((B, T), generator=g, dtype=torch.float64) * 2)
    old = logps + 0.4 * torch.randn((B, T), generator=g, dtype=torch.float64)
    ref = logps + 0.6 * torch.randn((B, T), generator=g, dtype=torch.float64)
    adv = torch.randn(B, generator=g, dtype=torch.float64)
    a = logps.clone().requires_grad_()
    b = logps.clone().requires_grad_()
    got = grpo.grpo_loss(a, old, ref, adv, mask, 0.2, 0.3, aggregation, max_tokens=7)
    want = _loop_loss(b, old, ref, adv, mask, 0.2, 0.3, aggregation, 7)
    got.backward(), want.backward()
    assert got.item() == pytest.approx(want.item(), rel=1e-12)
    torch.testing.assert_close(a.grad, b.grad, rtol=1e-10, atol=1e-12)
    assert (a.grad[~mask] == 0).all()
    # and the gradient is the loss's own: finite differences
    f = lambda x: grpo.grpo_loss(x, old, ref, adv, mask, 0.2, 0.3, aggregation, max_tokens=7)
    assert torch.autograd.gradcheck(f, (logps.clone().requires_grad_(),))


def test_tokens_off_the_response_never_matter():
    logps, mask = _batch([[-0.5, -0.1], [-1.0, -2.0, -0.3]], 5)
    old, ref = logps - 0.1, logps + 0.2
    base = grpo.grpo_loss(logps, old, ref, [0.7, -0.4], mask, beta=0.5)
    junk = torch.where(mask, 0.0, 1e4)  # huge values where the mask is False
    other = grpo.grpo_loss(logps + junk, old - junk, ref + junk, [0.7, -0.4], mask, beta=0.5)
    assert torch.isfinite(other) and other.item() == pytest.approx(base.item(), rel=1e-12)


def test_k3_is_unbiased_and_its_gradient_is_that_of_the_other_kl():
    """Exact sums over a categorical law: E_pi[k3] = KL(pi || ref), and
    E_pi[grad k3] = grad KL(ref || pi), not grad KL(pi || ref)."""
    g = torch.Generator().manual_seed(0)
    theta = torch.randn(6, generator=g, dtype=torch.float64, requires_grad=True)
    ref = torch.log_softmax(torch.randn(6, generator=g, dtype=torch.float64), 0)
    logp = torch.log_softmax(theta, 0)
    p = logp.exp().detach()
    mask = torch.ones((1, 1), dtype=torch.bool)
    # the expected loss, each outcome y as a one-token response weighted by pi(y)
    expected = sum(p[y] * grpo.grpo_loss(logp[y].reshape(1, 1), logp[y].detach().reshape(1, 1),
                                          ref[y].reshape(1, 1), [0.0], mask, beta=1.0)
                   for y in range(6))
    kl_p_ref = (p * (logp - ref)).sum()
    assert expected.item() == pytest.approx(kl_p_ref.item(), rel=1e-12)
    (grad_k3,) = torch.autograd.grad(expected, theta)
    (grad_rev,) = torch.autograd.grad((ref.exp() * (ref - torch.log_softmax(theta, 0))).sum(),
                                      theta)
    (grad_fwd,) = torch.autograd.grad(
        (torch.softmax(theta, 0) * (torch.log_softmax(theta, 0) - ref)).sum(), theta)
    torch.testing.assert_close(grad_k3, grad_rev, rtol=1e-10, atol=1e-12)
    assert (grad_k3 - grad_fwd).abs().max() > 1e-2


@pytest.mark.parametrize("kwargs, match", [
    (dict(clip_eps=0.0), "clip_eps must be > 0"),
    (dict(beta=-0.1), "beta must be >= 0"),
    (dict(beta=float("nan")), "beta must be a finite number"),
    (dict(aggregation="mean"), "aggregation must be one of"),
    (dict(aggregation="dr_grpo"), "max_tokens must be given"),
    (dict(aggregation="dr_grpo", max_tokens=1), "max_tokens must be >= every response length"),
    (dict(advantages=[1.0]), "advantages must have shape"),
    (dict(advantages=[1.0, np.nan]), "advantages must be finite"),
])
def test_loss_bad_inputs(kwargs, match):
    logps, mask = _batch([[-0.5], [-1.0, -2.0]], 3)
    args = dict(logps=logps, old_logps=logps, ref_logps=logps, advantages=[1.0, 0.0],
                response_mask=mask)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        grpo.grpo_loss(**args)


def test_loss_bad_shapes_and_empty_rows():
    logps, mask = _batch([[-0.5], [-1.0, -2.0]], 3)
    with pytest.raises(ValueError, match="share one shape"):
        grpo.grpo_loss(logps, logps[:, :2], logps, [1.0, 0.0], mask)
    mask[0] = False
    with pytest.raises(ValueError, match="at least one token in every row"):
        grpo.grpo_loss(logps, logps, logps, [1.0, 0.0], mask)


# ---------------------------------------------------------------------- Config, train

@pytest.mark.parametrize("kwargs, match", [
    (dict(group_size=1), "group_size must be >= 2"),
    (dict(n_steps=0), "n_steps must be >= 1"),
    (dict(lr=0.0), "lr must be > 0"),
    (dict(beta=-1.0), "beta must be >= 0"),
    (dict(clip_eps=float("inf")), "clip_eps must be a finite number"),
    (dict(temperature=0), "temperature must be > 0"),
    (dict(scale="max"), "scale must be one of"),
    (dict(aggregation="sum"), "aggregation must be one of"),
    (dict(n_updates=1.5), "n_updates must be an integer"),
])
def test_config_rejects_bad_values(kwargs, match):
    with pytest.raises(ValueError, match=match):
        grpo.Config(**kwargs)


def _reward_digit_first(prompts, responses):
    return [float(r[:1].isdigit()) for r in responses]


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return TinyLM(embed=8, hidden=16)


def test_train_learns_a_verifiable_reward_and_is_deterministic(tiny):
    before = [p.detach().clone() for p in tiny.parameters()]
    config = grpo.Config(n_steps=40, prompts_per_step=4, group_size=8, max_new_tokens=3,
                         lr=3e-2, eval_every=20)
    prompts = ["x:", "y:"]

    def pass_rate(policy):
        t, m = toylm.sample(policy, ["x:"] * 200, 3, generator=torch.Generator().manual_seed(9))
        return float(np.mean(_reward_digit_first(None, toylm.decode_responses(t, m))))

    h = grpo.train(tiny, tiny, prompts, _reward_digit_first, config, seed=1, progress=False,
                   eval_fn=pass_rate)
    assert h.eval_steps == [0, 20, 40]
    assert h.eval_values[0] < 0.3 and h.eval_values[-1] > 0.8
    assert len(h.reward) == len(h.kl) == len(h.length) == 40
    assert min(h.kl) >= 0 and h.kl[0] == 0.0  # the first batch is sampled from pi_ref
    # the pass rate moved from < 0.3 to > 0.8, so pi_theta has left pi_ref: the penalty
    # (and its log) must see a KL, i.e. ref_logps come from ref_policy, not the policy
    assert min(h.kl[5:]) > 0.1
    assert all(p.equal(q) for p, q in zip(before, tiny.parameters()))  # input untouched
    frozen = copy.deepcopy(tiny).requires_grad_(False)  # a frozen pi_ref as the start
    again = grpo.train(frozen, frozen, prompts, _reward_digit_first, config, seed=1,
                       progress=False)
    assert again.reward == h.reward and again.kl == h.kl


def test_train_passes_its_config_and_logs_by_hand(tiny, monkeypatch):
    """Spies: groups are rows of one prompt each, scale/eps and clip/beta/aggregation/budget
    of the Config reach group_advantages and grpo_loss; the logs recomputed by hand."""
    calls_adv, calls_loss, scored = [], [], []
    real_adv, real_loss = grpo.group_advantages, grpo.grpo_loss

    def spy_adv(rewards, scale, eps):
        calls_adv.append((np.array(rewards), scale, eps))
        return real_adv(rewards, scale, eps)

    def spy_loss(*args):
        calls_loss.append(args)
        return real_loss(*args)

    def reward_fn(prompts, responses):
        rewards = [float(len(r) % 3) for r in responses]
        scored.append((list(prompts), list(responses), rewards))
        return rewards

    monkeypatch.setattr(grpo, "group_advantages", spy_adv)
    monkeypatch.setattr(grpo, "grpo_loss", spy_loss)
    config = grpo.Config(n_steps=3, prompts_per_step=3, group_size=4, max_new_tokens=4,
                         scale="none", aggregation="dr_grpo", adv_eps=0.1, clip_eps=0.3,
                         beta=0.05, n_updates=2)
    h = grpo.train(tiny, tiny, ["x:", "y:", "z:"], reward_fn, config, seed=2,
                   progress=False)
    assert len(calls_adv) == len(scored) == 3 and len(calls_loss) == 6
    for k, (prompts, responses, rewards) in enumerate(scored):
        r = np.reshape(rewards, (3, 4))
        groups = np.reshape(prompts, (3, 4))
        assert (groups == groups[:, :1]).all()  # one prompt per row: G responses to it
        got_r, scale, eps = calls_adv[k]
        np.testing.assert_array_equal(got_r, r)
        assert (scale, eps) == ("none", 0.1)
        for args in calls_loss[2 * k:2 * k + 2]:
            assert tuple(args[5:]) == (0.3, 0.05, "dr_grpo", 4)
            np.testing.assert_allclose(args[3], (r - r.mean(1, keepdims=True)).ravel(),
                                       atol=1e-15)  # Dr. GRPO: centred, not scaled
        # the logs: EOS counts in the length unless the response used the whole budget
        lengths = np.array([min(len(y) + 1, 4) for y in responses])
        wrong = (r < r.max(1, keepdims=True)).ravel()
        assert h.reward[k] == pytest.approx(r.mean(), abs=1e-15)
        assert h.length[k] == pytest.approx(lengths.mean(), rel=1e-6)  # float32
        assert h.flat_groups[k] == pytest.approx((r == r[:, :1]).all(1).mean(), abs=1e-15)
        if wrong.any():
            assert h.length_wrong[k] == pytest.approx(lengths[wrong].mean(), rel=1e-6)
        else:
            assert math.isnan(h.length_wrong[k])
    assert any(np.reshape(rw, (3, 4)).std(1).max() > 0 for _, _, rw in scored)
    assert any(not np.isnan(x) and x != l for x, l in zip(h.length_wrong, h.length))


def test_train_bad_inputs(tiny):
    with pytest.raises(ValueError, match="config must be a grpo.Config"):
        grpo.train(tiny, tiny, ["x:"], _reward_digit_first, config={"n_steps": 1})
    with pytest.raises(ValueError, match="prompts must be"):
        grpo.train(tiny, tiny, ["x:", "yy:"], _reward_digit_first, progress=False)
    with pytest.raises(ValueError, match="TinyLM"):
        grpo.train(torch.nn.Linear(2, 2), tiny, ["x:"], _reward_digit_first, progress=False)
    with pytest.raises(ValueError, match="reward_fn must return"):
        grpo.train(tiny, tiny, ["x:"], lambda p, r: [1.0], grpo.Config(n_steps=1),
                   progress=False)
