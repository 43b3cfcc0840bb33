"""GRPO's known biases and their fixes, measured over seeds (book section 2.9).

The task and the reference model are those of ``book/rl/09-grpo.ipynb``: copy
three letters after a colon, pre-trained on corrupted copies.  From the same
pi_ref, each variant of the objective trains with seeds 0-9 and the script
prints, per variant, the median, the quartiles and the range over the seeds of

* the held-out pass rate after 50 and after 150 iterations (4 samples at
  temperature 1 for each of the 128 held-out prompts),
* the mean length (tokens, EOS included) of the responses that scored below
  the best of their group, over the last 20 iterations,
* the mean per-token k3 estimate of KL(pi || pi_ref) over the last 20 iterations.

Run:  PYTHONPATH=lib .venv/bin/python benchmarks/bench_grpo_variants.py [n_seeds] [n_procs]
(one thread per process; about 15 s per run on one core).
"""

from __future__ import annotations

import sys
import time
from multiprocessing import Pool

import numpy as np
import torch

from sprl.rl import grpo, toylm

LETTERS = "abcdefgh"
WORDS = np.array([a + b + c for a in LETTERS for b in LETTERS for c in LETTERS])
ORDER = np.random.default_rng(0).permutation(len(WORDS))
TRAIN = [w + ":" for w in WORDS[ORDER[:384]]]
TEST = [w + ":" for w in WORDS[ORDER[384:]]]
SEED = 20250131  # the notebook's

VARIANTS = {
    "GRPO: std, sequence": dict(scale="std", aggregation="sequence"),
    "batch std, sequence": dict(scale="batch", aggregation="sequence"),
    "DAPO-style: std, token": dict(scale="std", aggregation="token"),
    "Dr. GRPO: none, dr_grpo": dict(scale="none", aggregation="dr_grpo"),
}
BASE = dict(n_steps=150, prompts_per_step=16, group_size=8, lr=1e-2, beta=0.01,
            n_updates=2, eval_every=50)


def reward_fn(prompts, responses):
    return [float(y == x[:3]) for x, y in zip(prompts, responses)]


def corrupt(word, rng):
    w, u = list(word), rng.random()
    if u < 0.25:
        w[rng.integers(3)] = LETTERS[rng.integers(8)]
    elif u < 0.45:
        w.insert(rng.integers(4), LETTERS[rng.integers(8)])
    elif u < 0.65:
        del w[rng.integers(3)]
    return "".join(w)


def pass_rate(model, prompts=TEST, n=4, seed=7):
    batch = [x for x in prompts for _ in range(n)]
    g = torch.Generator().manual_seed(seed)
    tokens, mask = toylm.sample(model, batch, max_new_tokens=8, generator=g)
    return float(np.mean(reward_fn(batch, toylm.decode_responses(tokens, mask))))


def reference_model():
    """pi_ref exactly as the notebook builds it."""
    torch.set_num_threads(1)
    rng = np.random.default_rng(1)
    prompts = [TRAIN[i] for i in rng.integers(384, size=4000)]
    responses = [corrupt(x[:3], rng) for x in prompts]
    torch.manual_seed(SEED)
    model = toylm.TinyLM()
    toylm.pretrain(model, prompts, responses, n_steps=600, seed=0, progress=False)
    return model.requires_grad_(False)


REF = None


def run(job):
    global REF
    torch.set_num_threads(1)
    if REF is None:
        REF = reference_model()
    name, seed = job
    config = grpo.Config(**BASE, **VARIANTS[name])
    h = grpo.train(REF, REF, TRAIN, reward_fn, config, seed=seed, progress=False,
                   eval_fn=pass_rate)
    evals = dict(zip(h.eval_steps, h.eval_values))
    return (name, seed, evals[50], evals[150], float(np.nanmean(h.length_wrong[-20:])),
            float(np.mean(h.kl[-20:])), h.wall_time)


def main(n_seeds=10, n_procs=2):
    start = time.perf_counter()
    print(f"pi_ref held-out pass rate: {pass_rate(reference_model()):.3f}", flush=True)
    jobs = [(name, seed) for seed in range(n_seeds) for name in VARIANTS]
    rows = []
    with Pool(n_procs) as pool:
        for row in pool.imap_unordered(run, jobs, chunksize=1):
            rows.append(row)
            print("run:", row, flush=True)
    print(f"{n_seeds} seeds per variant, {time.perf_counter() - start:.0f} s in all\n")
    print("| variant | pass rate, 50 it. | pass rate, 150 it. | length of wrong responses "
          "| KL to pi_ref (k3/token) |")
    print("| --- | --- | --- | --- | --- |")
    for name in VARIANTS:
        r = np.array([row[2:6] for row in rows if row[0] == name])
        cells = [f"{np.median(c):.3f} ({np.percentile(c, 25):.3f}-{np.percentile(c, 75):.3f})"
                 f" [{c.min():.3f}, {c.max():.3f}]" for c in r.T]
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
