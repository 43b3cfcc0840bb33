"""Bad input fails at once with a ValueError that names the parameter.

One row per (call, parameter named in the message).  A new public function
gets its rows here.  Each row once hung, ran out of memory, leaked a raw numpy
message, or returned a number for a string; the timeout turns a hang back into
a failure instead of a stalled run.
"""

import pytest

from sprl import branching, ctmc, gambling, markov, martingale, random_walk
from sprl.rl import reward_models

CASES = [
    # would run for hours (5e13 expected rounds)
    (lambda: gambling.simulate_ruin(5, 10**12, 0.5, 10), "S"),
    # critical laws never reach a fixed point: every generation costs a step
    (lambda: branching.generation_pgf([0.25, 0.5, 0.25], 10**9, 0.5), "n"),
    (lambda: branching.survival_probability([0.25, 0.5, 0.25], 10**9), "n"),
    (lambda: branching.survival_probability([0.25, 0.5, 0.25], [1, 10**9]), "n"),
    # rationals of 10**8 bits
    (lambda: martingale.ruin_by_optional_stopping(3, 10**6, 0.4), "S"),
    (lambda: martingale.walk_maximum_tail(10**7, 1000), "n"),
    (lambda: martingale.walk_maximum_tail(10**6, 10**5), "n * c"),
    # would ask numpy for terabytes
    (lambda: gambling.transition_matrix(10**7, 0.5), "S"),
    (lambda: random_walk.distribution(10**10, 0.5), "n"),
    (lambda: random_walk.simulate_walk(10**6, 0.5, n_walks=10**6), "n_steps"),
    (lambda: branching.poisson_pmf(10**12), "lam"),
    (lambda: branching.poisson_pmf(2.0, kmax=10**12), "kmax"),
    (lambda: branching.geometric_pmf(1e-300), "p"),
    (lambda: branching.geometric_pmf(1e-310), "p"),
    (lambda: branching.binomial_pmf(10**12, 0.5), "m"),
    (lambda: ctmc.poisson_process(1e10, 1e10), "rate * t_max"),
    # shapes that do not broadcast: our message, not numpy's
    (lambda: random_walk.escape_probability([1, 2, 3], [0.5, 0.6]), "k and p"),
    (lambda: gambling.expected_duration([1, 2, 3], 10, [0.5, 0.6]), "k and p"),
    (lambda: gambling.win_probability([1, 2, 3], 10, [0.5, 0.6]), "k and p"),
    (lambda: random_walk.first_return_pmf([2, 4, 6], [0.5, 0.6]), "n and p"),
    (lambda: random_walk.return_pmf([2, 4, 6], [0.5, 0.6]), "n and p"),
    (lambda: martingale.likelihood_ratio([[1, 0, 1]], [0.5, 0.6], 0.4), "p"),
    # text where a number belongs (np.asarray would parse it)
    (lambda: gambling.win_probability(3, 10, "0.5"), "p"),
    (lambda: gambling.expected_duration(3, 10, ["0.5"]), "p"),
    (lambda: gambling.win_probability("3", 10, 0.5), "k"),
    (lambda: random_walk.escape_probability(1, "0.6"), "p"),
    (lambda: branching.binomial_pmf(3, "0.5"), "p"),
    (lambda: branching.extinction_probability(["0.25", "0.5", "0.25"]), "pmf"),
    (lambda: markov.stationary_distribution([["0.5", "0.5"], ["0.5", "0.5"]]), "P"),
    # one check of positive parameters (_checks.as_positive); float("2") used to pass here
    (lambda: reward_models.kl_regularized_optimum([0.5, 0.5], [0.0, 1.0], "2"), "beta"),
    (lambda: ctmc.poisson_process(True, 1.0), "rate"),
    (lambda: branching.poisson_pmf("3"), "lam"),
    (lambda: branching.geometric_pmf("0.5"), "p"),
    (lambda: martingale.normalised_population([[1, 2, 4]], "2"), "mean"),
]


@pytest.mark.timeout(10)
@pytest.mark.parametrize("call, name", CASES, ids=[f"{i}-{n}" for i, (_, n) in enumerate(CASES)])
def test_bad_input_names_the_parameter(call, name):
    with pytest.raises(ValueError) as info:
        call()
    message = str(info.value)
    assert message.startswith(name), message
    # numpy's own wording would mean that our check did not run
    for raw in ("shape mismatch", "Maximum allowed size", "lam value too large",
                "Unable to allocate", "0-dimensional"):
        assert raw not in message


def test_limits_leave_ordinary_calls_alone():
    # the largest calls the book makes still run
    assert gambling.transition_matrix(1000, 0.5).shape == (1001, 1001)
    assert branching.generation_pgf([0.25, 0.5, 0.25], 10**5, 0.0) < 1.0
    # sub- and supercritical laws stop at their floating-point fixed point
    alpha = branching.extinction_probability([0.2, 0.3, 0.5])
    assert branching.generation_pgf([0.2, 0.3, 0.5], 10**6, 0.0) == pytest.approx(alpha)
    assert branching.survival_probability([0.2, 0.3, 0.5], 10**6) == pytest.approx(1 - alpha)
    assert branching.survival_probability([0.5, 0.4, 0.1], 10**6) < 1e-300
