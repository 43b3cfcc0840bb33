"""DPO on the toy language model of chapter 2.8, over several seeds.

The chapter runs its pipeline once (seed 20250131) and asserts a held-out
preference accuracy of at least 0.85.  This script repeats the same pipeline
(same task, model, data sizes and ``dpo.Config``) for other seeds, each seed
drawing its own data, pre-training its own reference model and fine-tuning it,
and prints the held-out accuracy, margin, KL and gold reward of every seed with
their median and range.

    .venv/bin/python benchmarks/bench_dpo_seeds.py --seeds 0 1 2 3 4 5 6 7 8 9
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time

import numpy as np
import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lib"))

from sprl.rl import dpo, toylm  # noqa: E402

LETTERS = list("abcdef")
CONFIG = dpo.Config(beta=0.5, lr=2e-3, n_steps=150, eval_every=25, kl_samples=128)


def gold_reward(prompt, response):
    return response.count(prompt[0])


def run(seed: int) -> dict:
    data_rng = np.random.default_rng(seed)

    def prompts_of(n):
        return [c + ":" for c in data_rng.choice(LETTERS, n)]

    pre_prompts = prompts_of(3_000)
    pre_answers = ["".join(w) for w in data_rng.choice(LETTERS, (3_000, 4))]
    torch.manual_seed(seed)
    reference = toylm.TinyLM()
    toylm.pretrain(reference, pre_prompts, pre_answers, n_steps=250, seed=seed,
                   progress=False)
    gen = torch.Generator().manual_seed(seed)

    def sampled_pairs(n):
        prompts = prompts_of(n)
        ys = [toylm.decode_responses(*toylm.sample(reference, prompts, 8, generator=gen))
              for _ in range(2)]
        r = np.array([[gold_reward(p, y) for p, y in zip(prompts, y_k)] for y_k in ys])
        return prompts, ys, r

    prompts, (y1, y2), r12 = sampled_pairs(3_000)
    first = data_rng.random(len(prompts)) < dpo.bradley_terry_probability(*r12)
    train_pairs = (prompts, [a if f else b for a, b, f in zip(y1, y2, first)],
                   [b if f else a for a, b, f in zip(y1, y2, first)])
    t_prompts, (t1, t2), t_r = sampled_pairs(2_000)
    keep = np.flatnonzero(t_r[0] != t_r[1])
    better = t_r[0] > t_r[1]
    test_pairs = ([t_prompts[i] for i in keep],
                  [t1[i] if better[i] else t2[i] for i in keep],
                  [t2[i] if better[i] else t1[i] for i in keep])
    history = dpo.train(reference, train_pairs, test_pairs, CONFIG, seed=seed, progress=False)

    def mean_gold(model, n=1_000):
        g = torch.Generator().manual_seed(seed + 1)
        ps = [c + ":" for c in np.random.default_rng(seed + 1).choice(LETTERS, n)]
        ys = toylm.decode_responses(*toylm.sample(model, ps, 8, generator=g))
        return float(np.mean([gold_reward(p, y) for p, y in zip(ps, ys)]))

    return {"accuracy": history.test_accuracy[-1], "margin": history.test_margin[-1],
            "kl": history.kl[-1], "gold_ref": mean_gold(reference),
            "gold_dpo": mean_gold(history.policy)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(10)))
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = []
    print("| seed | held-out accuracy | margin | KL (nats) | gold reward: ref -> DPO | s |")
    print("| --- | --- | --- | --- | --- | --- |")
    for seed in args.seeds:
        start = time.perf_counter()
        r = run(seed)
        rows.append(r)
        print(f"| {seed} | {r['accuracy']:.3f} | {r['margin']:.2f} | {r['kl']:.2f} | "
              f"{r['gold_ref']:.2f} -> {r['gold_dpo']:.2f} | "
              f"{time.perf_counter() - start:.1f} |", flush=True)
    acc = np.array([r["accuracy"] for r in rows])
    kl = np.array([r["kl"] for r in rows])
    print(f"| **median** | **{np.median(acc):.3f}** (min {acc.min():.3f}, max {acc.max():.3f}) "
          f"| {np.median([r['margin'] for r in rows]):.2f} | {np.median(kl):.2f} "
          f"(min {kl.min():.2f}, max {kl.max():.2f}) | | |")
    q1, q3 = np.percentile(acc, [25, 75])
    print(f"RESULT median_accuracy={np.median(acc):.3f} quartiles={q1:.3f},{q3:.3f} "
          f"min_accuracy={acc.min():.3f} share_at_least_0.85={np.mean(acc >= 0.85):.2f}")


if __name__ == "__main__":
    main()
