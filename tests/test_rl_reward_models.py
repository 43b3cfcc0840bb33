"""Tests of sprl.rl.reward_models: best-of-n against brute force, the KL-regularised optimum,
the Bradley-Terry fit, the policy gradient's fixed point and the Gao-Schulman-Hilton fits.

Mutations applied by hand (2026-12-04), each failing at least one test here: kl_divergence
reversed; the sign of the Bradley-Terry fit's gradient; its Hessian without p (1 - p);
l2 missing from its gradient; best-of-n with exponent n - 1; F^- read one group too early;
tied responses sharing the group's mass equally instead of in proportion to pi_ref; the
best-of-n KL reversed; the bound log n - (n - 1) without the 1/n; pi* with r * beta for
r / beta; the sign of the KL penalty in the reward; the leave-one-out baseline divided by
G instead of G - 1; a baseline that includes the sample itself; the estimate not divided
by G; train's logged KL reversed; descent instead of ascent; the sign of the d^2 column
in the best-of-n Gao fit; R^2 with an uncentred total sum of squares; train sampling
from pi_ref instead of pi_theta; the estimate's policy without pi_ref; the sign of
beta log d in the RL Gao curve and of its column in the fit.  The baseline over G (a
multiple of an independent baseline is still unbiased) and the sampling from pi_ref
survived at first; they are caught by test_policy_gradient_estimate_by_hand_leave_one_out
and test_train_steps_by_hand.  Skipped as equivalent:
dropping E_pi[phi] from grad log pi, since the leave-one-out advantages of a group always
sum to exactly zero.
"""

import itertools

import numpy as np
import pytest
from scipy.optimize import minimize

from sprl.rl import reward_models as rm


def brute_force_best_of_n(pi_ref, scores, n):
    """Enumerate all K^n draws; ties broken uniformly among the drawn samples."""
    K = len(pi_ref)
    out = np.zeros(K)
    for draw in itertools.product(range(K), repeat=n):
        prob = np.prod([pi_ref[i] for i in draw])
        best = max(scores[i] for i in draw)
        winners = [i for i in draw if scores[i] == best]
        for i in winners:
            out[i] += prob / len(winners)
    return out


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_best_of_n_matches_brute_force_with_ties(n):
    pi_ref = np.array([0.1, 0.25, 0.05, 0.3, 0.2, 0.1])
    scores = np.array([1.0, 0.5, 1.0, -2.0, 0.5, 3.0])  # two ties
    exact = rm.best_of_n_probabilities(pi_ref, scores, n)
    np.testing.assert_allclose(exact, brute_force_best_of_n(pi_ref, scores, n), atol=1e-14)
    assert abs(exact.sum() - 1) < 1e-14
    kl = rm.best_of_n_kl(pi_ref, scores, n)
    assert abs(kl - rm.kl_divergence(exact, pi_ref)) < 1e-13
    assert kl <= rm.best_of_n_kl_bound(n) + 1e-15
    if n >= 2:  # finitely many groups: the bound is strict (Jensen is strict)
        assert kl < rm.best_of_n_kl_bound(n) - 1e-3


def test_best_of_n_kl_uniform_closed_form_and_bound():
    K, n = 50, 7
    i = np.arange(1, K + 1)
    p = (i / K) ** n - ((i - 1) / K) ** n  # rank i of K, uniform pi_ref
    scores = np.random.default_rng(0).permutation(K).astype(float)
    pi_ref = np.full(K, 1 / K)
    expected = np.sum(p * np.log(K * p))
    assert abs(rm.best_of_n_kl(pi_ref, scores, n) - expected) < 1e-13
    np.testing.assert_allclose(np.sort(rm.best_of_n_probabilities(pi_ref, scores, n)),
                               p, atol=1e-15)
    # many distinct values: the exact KL approaches log n - (n-1)/n from below
    big = 200_000
    kl = rm.best_of_n_kl(np.full(big, 1 / big), np.arange(big, dtype=float), 16)
    bound = rm.best_of_n_kl_bound(16)
    assert bound - 1e-3 < kl < bound
    assert rm.best_of_n_kl_bound(1) == 0.0
    assert abs(rm.best_of_n_kl_bound(2) - (np.log(2) - 0.5)) < 1e-15
    np.testing.assert_allclose(rm.best_of_n_kl_bound([1, 4]), [0.0, np.log(4) - 0.75])


def test_best_of_n_monte_carlo():
    rng = np.random.default_rng(1)
    K, n, M = 8, 5, 200_000
    pi_ref = rng.dirichlet(np.ones(K))
    scores = rng.normal(size=K)
    draws = rng.choice(K, size=(M, n), p=pi_ref)
    picked = draws[np.arange(M), np.argmax(scores[draws], axis=1)]
    freq = np.bincount(picked, minlength=K) / M
    exact = rm.best_of_n_probabilities(pi_ref, scores, n)
    z = np.abs(freq - exact) / np.sqrt(exact * (1 - exact) / M + 1e-300)
    assert z.max() < 5


def test_best_of_n_large_n_is_stable():
    pi_ref = np.array([0.5, 0.3, 0.2])
    scores = np.array([0.0, 2.0, 1.0])
    p = rm.best_of_n_probabilities(pi_ref, scores, 10**7)
    np.testing.assert_allclose(p, [0.0, 1.0, 0.0], atol=1e-300)
    assert abs(rm.best_of_n_kl(pi_ref, scores, 10**7) - np.log(1 / 0.3)) < 1e-12
    # zero-mass responses are never chosen
    p0 = rm.best_of_n_probabilities([0.5, 0.0, 0.5], [0.0, 5.0, 1.0], 3)
    np.testing.assert_allclose(p0, [0.125, 0.0, 0.875], atol=1e-15)


def test_kl_regularized_optimum_maximises_the_objective():
    rng = np.random.default_rng(2)
    K, beta = 7, 0.7
    pi_ref = rng.dirichlet(np.ones(K))
    r = rng.normal(size=K)
    star = rm.kl_regularized_optimum(pi_ref, r, beta)

    def objective(p):
        return p @ r - beta * rm.kl_divergence(p, pi_ref)

    logZ = np.log(np.sum(pi_ref * np.exp(r / beta)))
    assert abs(objective(star) - beta * logZ) < 1e-12  # the optimal value is beta log Z
    res = minimize(lambda z: -objective(np.exp(z - z.max()) / np.exp(z - z.max()).sum()),
                   np.zeros(K), method="BFGS", options={"gtol": 1e-10})
    num = np.exp(res.x - res.x.max())
    np.testing.assert_allclose(num / num.sum(), star, atol=1e-5)
    tiny = rm.kl_regularized_optimum(pi_ref, r, 1e-8)  # no overflow: argmax
    assert tiny[np.argmax(r)] == 1.0


def test_fit_linear_reward_model_is_the_mle():
    rng = np.random.default_rng(3)
    w = np.array([1.5, -0.5, 0.25])
    m = 400
    pa, pb = rng.normal(size=(2, m, 3))
    y = rng.random(m) < 1 / (1 + np.exp(-(pa - pb) @ w))
    l2 = 0.01
    w_hat = rm.fit_linear_reward_model(pa, pb, y, l2=l2)
    x = pa - pb

    def loss(v):
        z = x @ v
        return np.mean(np.logaddexp(0, z) - y * z) + 0.5 * l2 * v @ v

    ref = minimize(loss, np.zeros(3), method="BFGS", options={"gtol": 1e-12}).x
    np.testing.assert_allclose(w_hat, ref, atol=1e-6)
    # a lot of data: the MLE recovers the true weights
    m = 200_000
    pa, pb = rng.normal(size=(2, m, 3))
    y = rng.random(m) < 1 / (1 + np.exp(-(pa - pb) @ w))
    np.testing.assert_allclose(rm.fit_linear_reward_model(pa, pb, y, l2=1e-8), w, atol=0.03)


def _setup(K=30, D=3, seed=4):
    rng = np.random.default_rng(seed)
    phi = rng.normal(size=(K, D))
    pi_ref = rng.dirichlet(np.ones(K) * 3)
    w = rng.normal(size=D)
    return phi, pi_ref, w


def test_train_converges_to_the_kl_regularized_optimum():
    phi, pi_ref, w = _setup()
    proxy = phi @ w
    beta = 0.5
    cfg = rm.Config(beta=beta, lr=0.05, group_size=32, n_steps=3000)
    h = rm.train(proxy, pi_ref, phi, cfg, seed=0, progress=False)
    np.testing.assert_allclose(h.theta, w / beta, atol=0.15 * np.abs(w / beta).max())
    star = rm.kl_regularized_optimum(pi_ref, proxy, beta)
    assert abs(h.proxy[-1] - star @ proxy) < 0.02
    assert abs(h.kl[-1] - rm.kl_divergence(star, pi_ref)) < 0.05
    again = rm.train(proxy, pi_ref, phi, cfg, seed=0, progress=False)
    np.testing.assert_array_equal(h.theta, again.theta)  # reproducible under a seed


def test_train_steps_by_hand():
    """Three steps written out: draw G responses from the CURRENT policy pi_theta (the
    seed's default_rng stream), ascend the estimate; log the exact KL(pi || pi_ref) and
    E_pi[r]."""
    phi, pi_ref, w = _setup(K=6, D=2, seed=8)
    proxy, gold = phi @ w, -phi[:, 0]
    cfg = rm.Config(beta=0.3, lr=0.5, group_size=4, n_steps=3, log_every=1)
    h = rm.train(proxy, pi_ref, phi, cfg, seed=5, gold=gold, progress=False)
    rng, theta = np.random.default_rng(5), np.zeros(2)
    for step in range(4):
        pi = pi_ref * np.exp(phi @ theta)
        pi /= pi.sum()
        assert h.kl[step] == pytest.approx(np.sum(pi * np.log(pi / pi_ref)), abs=1e-12)
        assert h.proxy[step] == pytest.approx(pi @ proxy, abs=1e-12)
        assert h.gold[step] == pytest.approx(pi @ gold, abs=1e-12)
        if step < 3:
            y = rng.choice(6, size=4, p=pi)
            theta = theta + 0.5 * rm.policy_gradient_estimate(theta, y, proxy, pi_ref, phi, 0.3)
    assert h.steps == [0, 1, 2, 3] and h.kl[-1] > 1e-3
    np.testing.assert_allclose(h.theta, theta, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(h.probs, pi, rtol=1e-12)


def test_train_step_is_unbiased():
    phi, pi_ref, w = _setup(K=8, D=2, seed=5)
    proxy = phi @ w
    lr = 1.0
    cfg = rm.Config(beta=0.0, lr=lr, group_size=3, n_steps=1)
    steps = np.array([rm.train(proxy, pi_ref, phi, cfg, seed=s, progress=False).theta
                      for s in range(4000)])
    mean_phi = pi_ref @ phi  # gradient of E[r] at theta = 0: Cov_ref(phi, r)
    exact = ((proxy - pi_ref @ proxy) * pi_ref) @ (phi - mean_phi)
    se = steps.std(axis=0) / np.sqrt(len(steps))
    assert np.all(np.abs(steps.mean(axis=0) - lr * exact) < 5 * se)
    h = rm.train(proxy, pi_ref, phi, rm.Config(n_steps=3, log_every=2),
                 gold=-proxy, progress=False)
    assert h.steps == [0, 2, 3] and len(h.gold) == 3
    np.testing.assert_allclose(h.gold, -np.array(h.proxy))
    assert h.kl[0] == 0.0 and abs(h.proxy[0] - pi_ref @ proxy) < 1e-12


def test_policy_gradient_estimate_by_hand_leave_one_out():
    # pi = pi_ref uniform on 3 responses, phi = 0, 1, 2, r = 1, 0, 3; the group {0, 2}:
    # baselines b_0 = r_2 = 3 and b_2 = r_0 = 1, advantages -2 and +2; grad log pi =
    # phi - E[phi] = -1 and +1, so g = ((-2)(-1) + (2)(1)) / 2 = 2
    phi = np.array([[0.0], [1.0], [2.0]])
    g = rm.policy_gradient_estimate([0.0], np.array([0, 2]), [1.0, 0.0, 3.0],
                                    np.full(3, 1 / 3), phi)
    np.testing.assert_allclose(g, [2.0], rtol=1e-14)
    # a second implementation, one response at a time: b_i is the mean of the OTHER
    # G - 1 penalised rewards, at theta != 0 and beta > 0, with a repeated response
    rng = np.random.default_rng(11)
    K, D, beta = 5, 3, 0.4
    phi, pi_ref, r = rng.normal(size=(K, D)), rng.dirichlet(np.ones(K)), rng.normal(size=K)
    theta = rng.normal(size=D)
    pi = pi_ref * np.exp(phi @ theta)
    pi /= pi.sum()
    y = np.array([1, 4, 1, 0])
    G = len(y)
    score = [r[k] - beta * np.log(pi[k] / pi_ref[k]) for k in y]
    expect = np.zeros(D)
    for i in range(G):
        b = sum(score[j] for j in range(G) if j != i) / (G - 1)
        expect += (score[i] - b) * (phi[y[i]] - pi @ phi) / G
    got = rm.policy_gradient_estimate(theta, y, r, pi_ref, phi, beta)
    np.testing.assert_allclose(got, expect, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("beta", [0.0, 0.7])
def test_policy_gradient_estimate_is_exactly_unbiased(beta):
    """Theorem 2.10 (KL penalty as a reward): the mean of the estimate over all
    K^G groups, weighted by their probability, equals the autograd gradient of
    J(theta) = E_pi[r] - beta KL(pi || pi_ref), away from theta = 0."""
    import torch
    rng = np.random.default_rng(7)
    K, D, G = 4, 2, 3
    phi = rng.normal(size=(K, D))
    pi_ref = rng.dirichlet(np.ones(K))
    r = rng.normal(size=K)
    theta = rng.normal(size=D)
    t = torch.tensor(theta, dtype=torch.float64, requires_grad=True)
    log_ref = torch.log(torch.tensor(pi_ref))
    log_pi = torch.log_softmax(log_ref + torch.tensor(phi) @ t, dim=0)
    pi_t = log_pi.exp()
    J = pi_t @ torch.tensor(r) - beta * (pi_t @ (log_pi - log_ref))
    J.backward()
    pi = pi_t.detach().numpy()
    mean = np.zeros(D)
    for group in itertools.product(range(K), repeat=G):
        y = np.array(group)
        mean += np.prod(pi[y]) * rm.policy_gradient_estimate(theta, y, r, pi_ref, phi, beta)
    np.testing.assert_allclose(mean, t.grad.numpy(), atol=1e-12)
    # the baseline is what makes it unbiased: a mean over the group including
    # y_i itself would shrink the gradient by (G - 1) / G
    assert np.abs(t.grad.numpy()).max() > 1e-2


def test_gao_fit_recovers_exact_curves():
    d = np.linspace(0, 3, 40)
    for form, a, b in (("bon", 1.3, 0.4), ("rl", 0.9, 0.6)):
        r = rm.gao_curve(d, a, b, form)
        alpha, beta, r2 = rm.fit_gao(d, r, form)
        assert abs(alpha - a) < 1e-10 and abs(beta - b) < 1e-10 and abs(r2 - 1) < 1e-12
    assert rm.gao_curve(0.0, 1.0, 1.0, "rl") == 0.0
    # the forms of Gao et al. (2023), eqs. for R_bon and R_RL, at one point
    assert abs(rm.gao_curve(2.0, 1.5, 0.5, "bon") - 2 * (1.5 - 0.5 * 2)) < 1e-15
    assert abs(rm.gao_curve(2.0, 1.5, 0.5, "rl") - 2 * (1.5 - 0.5 * np.log(2))) < 1e-15
    assert abs(rm.gao_curve(np.e, 1.0, 1.0, "rl") - 0.0) < 1e-12
    noisy = rm.gao_curve(d, 1.0, 0.3, "bon") + np.random.default_rng(6).normal(0, 0.05, d.size)
    _, _, r2 = rm.fit_gao(d, noisy, "bon")
    resid_var = 0.05**2
    assert 0.9 < r2 < 1 and abs((1 - r2) * noisy.var() - resid_var) < 0.5 * resid_var


def test_bad_inputs_raise():
    pi = np.array([0.5, 0.5])
    with pytest.raises(ValueError, match="pi_ref"):
        rm.best_of_n_probabilities([0.5, 0.6], [0, 1], 2)
    with pytest.raises(ValueError, match="n must"):
        rm.best_of_n_kl(pi, [0, 1], 0)
    with pytest.raises(ValueError, match="scores"):
        rm.best_of_n_kl(pi, [0, np.nan], 2)
    with pytest.raises(ValueError, match="scores"):
        rm.best_of_n_kl(pi, [0, 1, 2], 2)
    with pytest.raises(ValueError, match="n must"):
        rm.best_of_n_kl_bound(0.5)
    with pytest.raises(ValueError, match="beta"):
        rm.kl_regularized_optimum(pi, [0, 1], 0.0)
    with pytest.raises(ValueError, match="beta"):
        rm.Config(beta=-1.0)
    with pytest.raises(ValueError, match="group_size"):
        rm.Config(group_size=1)
    with pytest.raises(ValueError, match="lr"):
        rm.Config(lr=0)
    with pytest.raises(ValueError, match="a_preferred"):
        rm.fit_linear_reward_model(np.zeros((3, 2)), np.ones((3, 2)), [0, 1, 2])
    with pytest.raises(ValueError, match="phi_a"):
        rm.fit_linear_reward_model(np.zeros((3, 2)), np.ones((3, 1)), [0, 1, 1])
    with pytest.raises(ValueError, match="features"):
        rm.train([0.0, 1.0], pi, np.zeros((3, 1)), progress=False)
    with pytest.raises(ValueError, match="pi_ref"):
        rm.train([0.0, 1.0], [1.0, 0.0], np.zeros((2, 1)), progress=False)
    with pytest.raises(ValueError, match="form"):
        rm.fit_gao([0, 1, 2], [0, 1, 2], "ppo")
    with pytest.raises(ValueError, match="d must"):
        rm.gao_curve([-1.0], 1, 1, "bon")
    with pytest.raises(ValueError, match="constant"):
        rm.fit_gao([0, 1, 2], [1, 1, 1], "bon")
    assert rm.kl_divergence([0.5, 0.5], [1.0, 0.0]) == float("inf")
    args = (np.zeros(1), [0, 1], [0.0, 1.0], pi, np.zeros((2, 1)))
    rm.policy_gradient_estimate(*args)  # valid
    with pytest.raises(ValueError, match="responses"):
        rm.policy_gradient_estimate(args[0], [0], *args[2:])
    with pytest.raises(ValueError, match="responses"):
        rm.policy_gradient_estimate(args[0], [0, 2], *args[2:])
    with pytest.raises(ValueError, match="theta"):
        rm.policy_gradient_estimate(np.zeros(2), *args[1:])
    with pytest.raises(ValueError, match="beta"):
        rm.policy_gradient_estimate(*args, beta=-0.1)
