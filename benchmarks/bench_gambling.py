"""Gambler's ruin simulation: sprl.gambling.simulate_ruin against the usual per-round loop.

Run:  .venv/bin/python benchmarks/bench_gambling.py
The peer is the common textbook implementation, vectorised over games but with a Python
loop over rounds. Both play 10**5 games of S = 20; the script prints each time and the
ratio, and checks that both agree with the closed form within 5 standard errors.
"""

from __future__ import annotations

import time

import numpy as np

from sprl.gambling import expected_duration, simulate_ruin, win_probability


def per_round_loop(k, S, p, n_games, rng):
    position = np.full(n_games, k)
    duration = np.zeros(n_games, dtype=np.int64)
    active = (position > 0) & (position < S)
    while active.any():
        step = np.where(rng.random(active.sum()) < p, 1, -1)
        position[active] += step
        duration[active] += 1
        active = (position > 0) & (position < S)
    return position == S, duration


def best_of(fn, repeat=5):
    times = []
    for seed in range(repeat):
        start = time.perf_counter()
        out = fn(seed)
        times.append(time.perf_counter() - start)
    return min(times), out


def main():
    n = 100_000
    print(f"{'case':>18} {'sprl (s)':>9} {'loop (s)':>9} {'ratio':>6}")
    for k, S, p in [(10, 20, 0.5), (5, 20, 0.45), (2, 20, 0.6)]:
        t_sprl, (won, dur) = best_of(lambda s: simulate_ruin(k, S, p, n, rng=s))
        t_loop, (won2, dur2) = best_of(lambda s: per_round_loop(k, S, p, n, np.random.default_rng(s)))
        f, h = win_probability(k, S, p), expected_duration(k, S, p)
        for w, d in ((won, dur), (won2, dur2)):
            assert abs(w.mean() - f) < 5 * np.sqrt(f * (1 - f) / n)
            assert abs(d.mean() - h) < 5 * d.std() / np.sqrt(n)
        print(f"{f'k={k} S={S} p={p}':>18} {t_sprl:9.3f} {t_loop:9.3f} {t_loop / t_sprl:6.1f}x")


if __name__ == "__main__":
    main()
