"""Tests of sprl.rl.dpo: Bradley-Terry, the DPO loss, the tabular optimum, DPO fine-tuning.

Mutations applied by hand (2026-12-04), each failing at least one test here: the sign of
s_i - s_j in Bradley-Terry; the sign of the Bradley-Terry fit's gradient; the fitted
strengths not centred; the reference log-probs not subtracted (torch path, numpy path);
beta dropped from the loss; chosen and rejected swapped; the sign of the numpy loss; the
implicit rewards returned without beta; pi* with r * beta for r / beta; pi* without
pi_ref; KL(pi_ref || pi) in the regularised objective; the sign inside sigma of the
tabular gradient; beta dropped from the tabular gradient; chosen and rejected swapped in
fit_tabular_dpo's gradient; the ridge missing from that gradient; preference labels drawn
backwards; pairs allowed to repeat y_1; ties counted 0 in preference_accuracy; the
reference log-probs replaced by the current policy's in train; train's KL estimate
reversed; the sign of the home advantage in the Bradley-Terry fit, and of its gradient;
the loss summed instead of averaged; y_2's law not renormalised after removing y_1; the
ridge without its 1/2 in fit_tabular_dpo's objective; the held-out evaluation against
the current policy instead of the reference.  All were caught by the tests as they
stood.  Skipped as equivalent: the held-out reference log-probs computed from the policy
copy before the first step (it equals the reference then).
"""

import itertools

import numpy as np
import pytest
import scipy.special
import torch

from sprl.rl import dpo, toylm


# ---------------------------------------------------------------- Bradley-Terry

def test_bradley_terry_probability_by_hand():
    assert dpo.bradley_terry_probability(0.0, 0.0) == 0.5
    assert abs(dpo.bradley_terry_probability(np.log(3), 0.0) - 0.75) < 1e-15
    # e^a e^si / (e^a e^si + e^sj) with a = log 2, si = 0, sj = log 2: 2 / 4
    assert abs(dpo.bradley_terry_probability(0.0, np.log(2), alpha=np.log(2)) - 0.5) < 1e-15
    s = np.array([0.3, -1.2, 2.0])
    p = dpo.bradley_terry_probability(s[:, None], s[None, :])
    np.testing.assert_allclose(p + p.T, 1.0, atol=1e-15)  # no home advantage: symmetric
    # far apart: no overflow, no nan
    assert dpo.bradley_terry_probability(1000.0, -1000.0) == 1.0
    assert dpo.bradley_terry_probability(-1000.0, 1000.0) == 0.0
    with pytest.raises(ValueError, match="s_i"):
        dpo.bradley_terry_probability(np.nan, 0.0)


def _matches(s, alpha, M, seed):
    rng = np.random.default_rng(seed)
    n = len(s)
    i = rng.integers(n, size=M)
    j = (i + rng.integers(1, n, size=M)) % n
    won = rng.random(M) < dpo.bradley_terry_probability(s[i], s[j], alpha)
    return i, j, won


def test_fit_bradley_terry_is_the_maximum_of_the_likelihood():
    """Gradient zero at the fit, and a brute-force check that no nearby point is better."""
    s = np.array([0.5, -0.2, 0.0, -0.3])
    i, j, won = _matches(s, 0.3, 400, seed=1)
    fit = dpo.fit_bradley_terry(i, j, won, home_advantage=True)
    assert abs(fit.strengths.sum()) < 1e-12

    def loglik(st, a):
        p = dpo.bradley_terry_probability(st[i], st[j], a)
        return np.sum(np.where(won, np.log(p), np.log1p(-p)))

    assert abs(loglik(fit.strengths, fit.alpha) - fit.log_likelihood) < 1e-9
    # shifting every strength changes nothing (identifiable only up to a constant)
    assert abs(loglik(fit.strengths + 7.0, fit.alpha) - fit.log_likelihood) < 1e-9
    rng = np.random.default_rng(0)
    for _ in range(200):
        d = rng.normal(scale=1e-2, size=5)
        assert loglik(fit.strengths + d[:4], fit.alpha + d[4]) <= fit.log_likelihood + 1e-12
    # score equations: wins of each item = expected wins; home wins = expected home wins
    p = dpo.bradley_terry_probability(fit.strengths[i], fit.strengths[j], fit.alpha)
    for k in range(4):
        observed = np.sum(won[i == k]) + np.sum(~won[j == k])
        expected = np.sum(p[i == k]) + np.sum(1 - p[j == k])
        assert abs(observed - expected) < 1e-5
    assert abs(won.sum() - p.sum()) < 1e-5


def test_fit_bradley_terry_two_items_closed_form():
    # 7 wins of item 0 against 3: s0 - s1 = log(7/3)
    fit = dpo.fit_bradley_terry([0] * 10, [1] * 10, [1] * 7 + [0] * 3)
    assert abs(fit.strengths[0] - fit.strengths[1] - np.log(7 / 3)) < 1e-7
    assert fit.alpha == 0.0
    # with home advantage: home 0 wins 6 of 8, home 1 wins 3 of 4
    first = [0] * 8 + [1] * 4
    second = [1] * 8 + [0] * 4
    won = [1] * 6 + [0] * 2 + [1] * 3 + [0]
    fit = dpo.fit_bradley_terry(first, second, won, home_advantage=True)
    # alpha + d = logit(6/8), alpha - d = logit(3/4): d = 0, alpha = log 3
    assert abs(fit.alpha - np.log(3)) < 1e-6
    assert abs(fit.strengths[0] - fit.strengths[1]) < 1e-6
    # home 0 wins 6 of 8, home 1 wins 2 of 5: d != 0 catches a sign error in d
    first = [0] * 8 + [1] * 5
    second = [1] * 8 + [0] * 5
    won = [1] * 6 + [0] * 2 + [1] * 2 + [0] * 3
    fit = dpo.fit_bradley_terry(first, second, won, home_advantage=True)
    # alpha + d = log 3, alpha - d = log(2/3): alpha = log(2)/2, d = log(9/2)/2
    assert abs(fit.alpha - np.log(2) / 2) < 1e-6
    assert abs(fit.strengths[0] - fit.strengths[1] - np.log(4.5) / 2) < 1e-6


def test_fit_bradley_terry_recovers_true_strengths():
    s = np.array([1.0, 0.5, 0.0, -0.5, -1.0])
    i, j, won = _matches(s, 0.4, 20_000, seed=2)
    fit = dpo.fit_bradley_terry(i, j, won, home_advantage=True)
    assert np.abs(fit.strengths - s).max() < 0.06
    assert abs(fit.alpha - 0.4) < 0.06


def test_fit_bradley_terry_bad_input():
    with pytest.raises(ValueError, match="strongly connected"):
        dpo.fit_bradley_terry([0, 1], [1, 2], [1, 1])  # 0 never loses
    with pytest.raises(ValueError, match="differ"):
        dpo.fit_bradley_terry([0, 1], [0, 0], [1, 0])
    with pytest.raises(ValueError, match="same length"):
        dpo.fit_bradley_terry([0, 1], [1, 0], [1])
    with pytest.raises(ValueError, match="first_won"):
        dpo.fit_bradley_terry([0, 1], [1, 0], [1, 2])
    with pytest.raises(ValueError, match="n_items"):
        dpo.fit_bradley_terry([0, 3], [3, 0], [1, 1], n_items=3)
    with pytest.raises(ValueError, match="home"):
        dpo.fit_bradley_terry([0, 1], [1, 0], [1, 1], home_advantage=True)


def test_fit_bradley_terry_home_advantage_needs_more_than_strong_connectivity():
    """Winner graph strongly connected, home side wins some and loses some, and yet
    moving (s, alpha) along (1, 0.5, 0; 1) raises the likelihood for ever."""
    first, second, won = [0, 1, 2, 2], [1, 0, 0, 1], [1, 1, 0, 1]
    fit = dpo.fit_bradley_terry(first, second, won)  # without alpha: fine
    assert np.isfinite(fit.strengths).all()
    with pytest.raises(ValueError, match="no unique maximum-likelihood fit"):
        dpo.fit_bradley_terry(first, second, won, home_advantage=True)
    # the direction: alpha + s_i - s_j never falls for a home win, never rises for a loss
    v_s, v_a = np.array([1.0, 0.5, 0.0]), 1.0
    d = v_a + v_s[first] - v_s[second]
    assert (np.where(won, d, -d) >= 0).all() and (np.where(won, d, -d) > 0).any()
    # home 0 vs 1 only: alpha and s_0 - s_1 cannot be told apart (flat direction)
    with pytest.raises(ValueError, match="no unique maximum-likelihood fit"):
        dpo.fit_bradley_terry([0, 0, 0], [1, 1, 1], [1, 0, 1], home_advantage=True)


# ---------------------------------------------------------------- the DPO loss

def test_dpo_loss_by_hand():
    # margin (log 3 - 0) - (0 - 0) = log 3, beta = 1: -log sigma(log 3) = log(4/3)
    assert abs(dpo.dpo_loss([np.log(3)], [0.0], [0.0], [0.0], 1.0) - np.log(4 / 3)) < 1e-15
    # zero margin: log 2, whatever beta
    assert abs(dpo.dpo_loss([-1.0, -5.0], [-2.0, -3.0], [-1.0, -5.0], [-2.0, -3.0], 7.0)
               - np.log(2)) < 1e-15
    # beta scales the margin: margins 2 and -1, beta 0.5
    got = dpo.dpo_loss([1.0, 0.0], [0.0, 1.0], [0.0, 0.0], [1.0, 0.0], 0.5)
    # first pair: (1 - 0) - (0 - 1) = 2; second pair: (0 - 0) - (1 - 0) = -1
    want = np.mean([np.log1p(np.exp(-0.5 * 2)), np.log1p(np.exp(0.5))])
    assert abs(got - want) < 1e-15


def test_dpo_loss_is_stable_for_huge_margins():
    assert dpo.dpo_loss([-1000.0], [0.0], [0.0], [0.0], 1.0) == 1000.0
    assert dpo.dpo_loss([1000.0], [0.0], [0.0], [0.0], 1.0) == 0.0
    t = dpo.dpo_loss(torch.tensor([-1000.0], dtype=torch.float64), [0.0], [0.0], [0.0], 1.0)
    assert t.item() == 1000.0
    t32 = dpo.dpo_loss(torch.tensor([-1000.0]), torch.zeros(1), torch.zeros(1), torch.zeros(1), 1.0)
    assert torch.isfinite(t32) and abs(t32.item() - 1000.0) < 1e-3


def test_dpo_loss_torch_matches_numpy_and_autograd():
    rng = np.random.default_rng(3)
    a = [rng.normal(size=6) * 3 for _ in range(4)]
    beta = 0.3
    pc = torch.tensor(a[0], requires_grad=True)
    pr = torch.tensor(a[1], requires_grad=True)
    loss, rc, rr = dpo.dpo_loss(pc, pr, torch.tensor(a[2]), a[3], beta, return_rewards=True)
    assert abs(loss.item() - dpo.dpo_loss(*a, beta)) < 1e-14
    np.testing.assert_allclose(rc.numpy(), beta * (a[0] - a[2]))
    np.testing.assert_allclose(rr.numpy(), beta * (a[1] - a[3]))
    assert not rc.requires_grad
    loss.backward()
    # d/d logpi(y_w) = -beta sigma(-beta m) / B, and the opposite for y_l
    m = (a[0] - a[2]) - (a[1] - a[3])
    w = beta * scipy.special.expit(-beta * m) / 6
    np.testing.assert_allclose(pc.grad.numpy(), -w, rtol=1e-12)
    np.testing.assert_allclose(pr.grad.numpy(), w, rtol=1e-12)
    # and against finite differences of the numpy loss
    eps = 1e-6
    for k in range(6):
        up = [x.copy() for x in a]
        up[0][k] += eps
        down = [x.copy() for x in a]
        down[0][k] -= eps
        fd = (dpo.dpo_loss(*up, beta) - dpo.dpo_loss(*down, beta)) / (2 * eps)
        assert abs(fd - pc.grad[k].item()) < 1e-8


def test_dpo_loss_bad_input():
    with pytest.raises(ValueError, match="beta"):
        dpo.dpo_loss([0.0], [0.0], [0.0], [0.0], 0.0)
    with pytest.raises(ValueError, match="beta"):
        dpo.dpo_loss([0.0], [0.0], [0.0], [0.0], -1.0)
    with pytest.raises(ValueError, match="beta"):
        dpo.dpo_loss([0.0], [0.0], [0.0], [0.0], float("nan"))
    with pytest.raises(ValueError, match="same shape"):
        dpo.dpo_loss([0.0, 1.0], [0.0], [0.0], [0.0], 1.0)
    with pytest.raises(ValueError, match="same shape"):
        dpo.dpo_loss(torch.zeros(3), torch.zeros(2), torch.zeros(3), torch.zeros(3), 1.0)
    with pytest.raises(ValueError, match="ref_rejected_logps must hold finite"):
        dpo.dpo_loss([0.0], [0.0], [0.0], [-np.inf], 1.0)
    with pytest.raises(ValueError, match="policy_chosen_logps must hold finite"):
        dpo.dpo_loss(torch.tensor([np.nan]), [0.0], [0.0], [0.0], 1.0)
    with pytest.raises(ValueError, match="empty"):
        dpo.dpo_loss([], [], [], [], 1.0)


# ---------------------------------------------------------------- the tabular problem

@pytest.fixture
def table():
    rng = np.random.default_rng(4)
    pi_ref = rng.dirichlet(np.ones(4) * 2, size=3)
    reward = rng.normal(size=(3, 4))
    return pi_ref, reward


def test_optimal_policy_maximises_the_kl_regularised_objective(table):
    pi_ref, reward = table
    beta = 0.7
    pi_star = dpo.optimal_policy(pi_ref, reward, beta)
    by_hand = pi_ref * np.exp(reward / beta)
    np.testing.assert_allclose(pi_star, by_hand / by_hand.sum(1, keepdims=True), rtol=1e-14)
    J = dpo.kl_regularised_objective(pi_star, pi_ref, reward, beta)
    log_Z = np.log(np.sum(pi_ref * np.exp(reward / beta), axis=1))
    np.testing.assert_allclose(J, beta * log_Z, rtol=1e-12)  # max = beta log Z(x)
    rng = np.random.default_rng(0)
    for _ in range(500):  # no law does better (Gibbs)
        other = rng.dirichlet(np.ones(4) * 0.5, size=3)
        assert (dpo.kl_regularised_objective(other, pi_ref, reward, beta) <= J + 1e-12).all()
    # gap = beta KL(pi || pi*) exactly
    other = rng.dirichlet(np.ones(4), size=3)
    gap = J - dpo.kl_regularised_objective(other, pi_ref, reward, beta)
    kl = np.sum(other * np.log(other / pi_star), axis=1)
    np.testing.assert_allclose(gap, beta * kl, rtol=1e-10)
    # small beta: no overflow, the argmax of the reward
    greedy = dpo.optimal_policy(pi_ref, reward * 1e3, 1e-3)
    assert np.isfinite(greedy).all()
    np.testing.assert_array_equal(greedy.argmax(1), reward.argmax(1))


def test_tabular_dpo_loss_gradient_matches_autograd(table):
    pi_ref, reward = table
    x, w, l = dpo.sample_preferences(reward, pi_ref, 50, rng=1)
    theta = np.random.default_rng(2).normal(size=pi_ref.shape)
    loss, grad = dpo.tabular_dpo_loss(theta, x, w, l, pi_ref, 0.4)
    th = torch.tensor(theta, requires_grad=True)
    logp = torch.log_softmax(th, dim=1)
    ref = torch.tensor(np.log(pi_ref))
    tl = dpo.dpo_loss(logp[x, w], logp[x, l], ref[x, w], ref[x, l], 0.4)
    tl.backward()
    assert abs(tl.item() - loss) < 1e-12
    np.testing.assert_allclose(th.grad.numpy(), grad, atol=1e-14)


def test_sample_preferences_follow_bradley_terry(table):
    pi_ref, reward = table
    x, w, l = dpo.sample_preferences(reward, pi_ref, 200_000, rng=5)
    assert (w != l).all()
    # prompt 0, responses 0 and 1: Pr(pair {0,1}) and Pr(0 chosen | pair)
    pair = (x == 0) & (np.minimum(w, l) == 0) & (np.maximum(w, l) == 1)
    p = pi_ref[0]
    exact_pair = (p[0] * p[1] / (1 - p[0]) + p[1] * p[0] / (1 - p[1])) / 3
    assert abs(pair.mean() - exact_pair) < 5 * np.sqrt(exact_pair / 200_000)
    won = np.mean(w[pair] == 0)
    q = scipy.special.expit(reward[0, 0] - reward[0, 1])
    assert abs(won - q) < 5 * np.sqrt(q * (1 - q) / pair.sum())


def test_fit_tabular_dpo_approaches_pi_star(table):
    """DPO on Bradley-Terry data recovers pi*: the error falls with the data size."""
    pi_ref, reward = table
    beta = 0.5
    pi_star = dpo.optimal_policy(pi_ref, reward, beta)
    errors = []
    for n in (100, 10_000, 200_000):
        x, w, l = dpo.sample_preferences(reward, pi_ref, n, rng=6)
        pi = dpo.fit_tabular_dpo(x, w, l, pi_ref, beta)
        errors.append(0.5 * np.abs(pi - pi_star).sum(1).mean())
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 0.02 and errors[0] > 10 * errors[2]
    # the fit is the minimiser: its implicit rewards are the Bradley-Terry fit per prompt
    x, w, l = dpo.sample_preferences(reward, pi_ref, 3000, rng=7)
    pi = dpo.fit_tabular_dpo(x, w, l, pi_ref, beta, ridge=0.0)
    _, grad = dpo.tabular_dpo_loss(np.log(pi), x, w, l, pi_ref, beta)
    assert np.abs(grad).max() < 1e-6  # a stationary point of the per-pair loss
    for k in range(3):
        sel = x == k
        bt = dpo.fit_bradley_terry(w[sel], l[sel], np.ones(sel.sum()), n_items=4)
        implicit = beta * np.log(pi[k] / pi_ref[k])
        np.testing.assert_allclose(implicit - implicit.mean(), bt.strengths, atol=1e-4)


def test_fit_tabular_dpo_with_ridge_is_the_penalised_minimiser(table):
    """The ridge fit minimises B L_DPO + ridge/2 |beta (theta - log pi_ref)|^2: the
    gradient of that objective (from tabular_dpo_loss) vanishes at the fit."""
    pi_ref, reward = table
    beta, ridge = 0.7, 1.0
    x, w, l = dpo.sample_preferences(reward, pi_ref, 40, rng=8)
    pi = dpo.fit_tabular_dpo(x, w, l, pi_ref, beta, ridge=ridge)
    u = beta * (np.log(pi) - np.log(pi_ref))
    u -= u.mean(axis=1, keepdims=True)  # the ridge centres each row of u
    theta = np.log(pi_ref) + u / beta  # the same policy, ridge-optimal row shift
    _, grad = dpo.tabular_dpo_loss(theta, x, w, l, pi_ref, beta)
    total_grad = x.size * grad + ridge * beta * u
    assert np.abs(total_grad).max() < 1e-6
    # and the ridge matters with 40 pairs: the plain-loss gradient is not zero there
    assert np.abs(x.size * grad).max() > 1e-2


def test_tabular_bad_input(table):
    pi_ref, reward = table
    with pytest.raises(ValueError, match="pi_ref"):
        dpo.optimal_policy(pi_ref * 2, reward, 1.0)
    with pytest.raises(ValueError, match="reward"):
        dpo.optimal_policy(pi_ref, reward[:, :2], 1.0)
    with pytest.raises(ValueError, match="beta"):
        dpo.optimal_policy(pi_ref, reward, 0)
    with pytest.raises(ValueError, match="chosen"):
        dpo.fit_tabular_dpo([0], [4], [1], pi_ref, 1.0)
    with pytest.raises(ValueError, match="ridge"):
        dpo.fit_tabular_dpo([0], [0], [1], pi_ref, 1.0, ridge=-1)


# ---------------------------------------------------------------- DPO fine-tuning

def test_preference_accuracy():
    assert dpo.preference_accuracy([1.0, 2.0, 0.0, 5.0], [0.0, 3.0, 0.0, 1.0]) == 0.625
    with pytest.raises(ValueError, match="same non-empty shape"):
        dpo.preference_accuracy([1.0], [1.0, 2.0])


def test_config_validation():
    with pytest.raises(ValueError, match="beta"):
        dpo.Config(beta=0.0)
    with pytest.raises(ValueError, match="batch_size"):
        dpo.Config(batch_size=0)


def test_train_learns_a_preference_and_is_deterministic():
    """Prefer responses with more 'a': held-out accuracy rises, the reference is unchanged."""
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    ref = toylm.TinyLM(embed=8, hidden=16)
    words = ["".join(w) for w in itertools.product("ab", repeat=3)]
    toylm.pretrain(ref, ["x"] * 64, [words[i % 8] for i in range(64)], n_steps=60,
                   progress=False)
    before = [p.detach().clone() for p in ref.parameters()]

    def pairs(n):
        y1, y2 = rng.choice(words, n), rng.choice(words, n)
        a1 = np.array([y.count("a") for y in y1])
        a2 = np.array([y.count("a") for y in y2])
        keep = a1 != a2
        chosen = np.where(a1 > a2, y1, y2)[keep]
        rejected = np.where(a1 > a2, y2, y1)[keep]
        return ["x"] * int(keep.sum()), list(chosen), list(rejected)

    train_pairs, test_pairs = pairs(200), pairs(100)
    config = dpo.Config(beta=0.5, lr=1e-2, batch_size=32, n_steps=20, eval_every=10,
                        kl_samples=16, max_new_tokens=5)
    h = dpo.train(ref, train_pairs, test_pairs, config, seed=1, progress=False)
    assert h.test_accuracy[0] == 0.5  # pi = pi_ref: every implicit reward is 0
    assert h.kl[0] == 0.0
    assert h.test_accuracy[-1] > 0.9 and h.test_margin[-1] > 0 and h.kl[-1] > 0
    assert h.eval_steps == [0, 10, 20] and len(h.loss) == 20
    assert h.loss[-1] < np.log(2)
    for p, q in zip(before, ref.parameters()):
        assert torch.equal(p, q)
    again = dpo.train(ref, train_pairs, test_pairs, config, seed=1, progress=False)
    assert again.loss == h.loss and again.kl == h.kl
    # the last evaluation (after the last step), by hand on the held-out pairs: implicit
    # rewards beta log(pi_theta / pi_ref) with pi_ref the REFERENCE model, not the policy
    with torch.no_grad():
        logp = {(name, side): toylm.sequence_logps(model, *toylm.encode_batch(
                    test_pairs[0], test_pairs[side]))
                for name, model in (("pi", h.policy), ("ref", ref)) for side in (1, 2)}
    c = config.beta * (logp["pi", 1] - logp["ref", 1]).numpy()
    r = config.beta * (logp["pi", 2] - logp["ref", 2]).numpy()
    assert h.test_margin[-1] == pytest.approx((c - r).mean(), rel=1e-5)
    assert h.test_accuracy[-1] == np.mean((c > r) + 0.5 * (c == r))
