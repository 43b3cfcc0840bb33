"""sprl.markov against quantecon: stationary distributions and chain simulation.

Run (quantecon lives only in the benchmark environment, see README.md):

    python3 -m venv benchmarks/.venv
    benchmarks/.venv/bin/pip install -r benchmarks/requirements.txt
    benchmarks/.venv/bin/python benchmarks/bench_markov.py

Side by side, in one run, on the same matrices:

1. Stationary distribution of a dense random 3000-state chain:
   ``sprl.markov.stationary_distribution`` (blocked GTH) against
   ``quantecon.MarkovChain(P).stationary_distributions`` (unblocked GTH, numba) and,
   for scale, a LAPACK solve with one equation replaced by the normalisation (fast but
   inaccurate for small entries).
2. Accuracy on the KMR chain (pi from 1.7e-35 to 0.87) against exact rationals.
3. One path of 10**6 steps of a dense 1000-state chain: ``sprl.markov.simulate_chain``
   against ``quantecon.MarkovChain.simulate`` after numba compilation.

The script prints every time (best of a few runs) and the ratios.  Timings depend on
the machine and its load; compare ratios from one run.
"""

from __future__ import annotations

import pathlib
import sys
import time
import warnings
from fractions import Fraction

import numpy as np
import scipy.linalg

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lib"))

import quantecon as qe  # noqa: E402

from sprl import markov  # noqa: E402


def best_of(fn, repeat):
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def random_chain(n, seed):
    P = np.random.default_rng(seed).random((n, n))
    return P / P.sum(axis=1, keepdims=True)


def kmr(N, p, eps):
    P = np.zeros((N + 1, N + 1))
    P[0, 0], P[0, 1] = 1 - eps / 2, eps / 2
    for n in range(1, N):
        P[n, n - 1] = (n / N) * (
            eps / 2 + (1 - eps) * (((n - 1) / (N - 1) < p) + ((n - 1) / (N - 1) == p) / 2)
        )
        P[n, n + 1] = ((N - n) / N) * (
            eps / 2 + (1 - eps) * ((n / (N - 1) > p) + (n / (N - 1) == p) / 2)
        )
        P[n, n] = 1 - P[n, n - 1] - P[n, n + 1]
    P[N, N - 1], P[N, N] = eps / 2, 1 - eps / 2
    return P


def lapack_stationary(P):
    """Dense solve of pi (I - P) = 0 with one equation replaced by sum(pi) = 1."""
    n = P.shape[0]
    A = (np.eye(n) - P).T
    A[-1] = 1.0
    b = np.zeros(n)
    b[-1] = 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        return scipy.linalg.solve(A, b)


def bench_stationary(n=3000):
    P = random_chain(n, 0)
    # Interleaved (sprl, quantecon, sprl, LAPACK, ...) so that a change in the machine's
    # load hits all three alike; quantecon takes ~10 s a run, so it runs twice.
    t_sprl = t_qe = t_lapack = np.inf
    for _ in range(2):
        t, pi = best_of(lambda: markov.stationary_distribution(P), 1)
        t_sprl = min(t_sprl, t)
        t, pi_qe = best_of(lambda: qe.MarkovChain(P).stationary_distributions[0], 1)
        t_qe = min(t_qe, t)
        t, _ = best_of(lambda: markov.stationary_distribution(P), 1)
        t_sprl = min(t_sprl, t)
        t, _ = best_of(lambda: lapack_stationary(P), 1)
        t_lapack = min(t_lapack, t)
    agree = np.max(np.abs(pi / pi_qe - 1))
    print(f"stationary distribution, dense {n} states")
    print(f"  sprl blocked GTH      {t_sprl:8.3f} s")
    print(f"  quantecon GTH         {t_qe:8.3f} s   ratio quantecon / sprl = {t_qe / t_sprl:5.1f}x")
    print(f"  LAPACK solve          {t_lapack:8.3f} s   ratio sprl / LAPACK   = "
          f"{t_sprl / t_lapack:5.2f}")
    print(f"  max relative difference sprl vs quantecon: {agree:.1e}")
    return t_qe / t_sprl


def eig_stationary(P):
    """The eigenvector of P.T for the eigenvalue closest to 1, normalised."""
    values, vectors = np.linalg.eig(P.T)
    v = np.abs(vectors[:, np.argmin(np.abs(values - 1))].real)
    return v / v.sum()


def bench_kmr_accuracy():
    P = kmr(27, 1 / 3, 1e-2)
    w = [Fraction(1)]
    for i in range(len(P) - 1):
        w.append(w[-1] * Fraction(P[i, i + 1]) / Fraction(P[i + 1, i]))
    exact = np.array([float(x / sum(w)) for x in w])
    print(f"KMR chain, pi from {exact.min():.1e} to {exact.max():.2f}: max relative error")
    for name, pi in [
        ("sprl", markov.stationary_distribution(P)),
        ("quantecon", qe.MarkovChain(P).stationary_distributions[0]),
        ("LAPACK solve", lapack_stationary(P)),
        ("numpy eig", eig_stationary(P)),
    ]:
        print(f"  {name:<14} {np.max(np.abs(pi / exact - 1)):.1e}")


def bench_simulation(n=1000, steps=10**6):
    P = random_chain(n, 1)
    mc = qe.MarkovChain(P)
    mc.simulate(10, init=0, random_state=0)  # numba compilation
    markov.simulate_chain(P, 0, 10, rng=0)
    t_sprl = t_qe = np.inf
    for _ in range(5):  # interleaved
        t, path = best_of(lambda: markov.simulate_chain(P, 0, steps, rng=1), 1)
        t_sprl = min(t_sprl, t)
        t, path_qe = best_of(lambda: mc.simulate(steps + 1, init=0, random_state=1), 1)
        t_qe = min(t_qe, t)
    pi = markov.stationary_distribution(P)
    err = [np.abs(np.bincount(x, minlength=n) / x.size - pi).sum() for x in (path, path_qe)]
    print(f"simulation, dense {n} states, {steps:.0e} steps")
    print(f"  sprl simulate_chain   {t_sprl:8.3f} s")
    print(f"  quantecon simulate    {t_qe:8.3f} s   ratio sprl / quantecon = {t_sprl / t_qe:5.2f}")
    print(f"  total variation of the visit frequencies to pi: sprl {err[0]:.3f}, "
          f"quantecon {err[1]:.3f}")
    return t_sprl / t_qe


def main():
    print(f"numpy {np.__version__}, scipy {scipy.__version__}, quantecon {qe.__version__}")
    speedup = bench_stationary()
    bench_kmr_accuracy()
    ratio = bench_simulation()
    print(f"SUMMARY: stationary {speedup:.1f}x faster than quantecon; "
          f"simulation {ratio:.2f}x quantecon's time")


if __name__ == "__main__":
    main()
