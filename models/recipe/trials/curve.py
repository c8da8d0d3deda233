"""What both design trials measure (issue 11), on test with oracle routing: the experts' EM (test and
unseen wordings), ‖τ‖/‖θ₀‖ and pairwise cosines, Task Arithmetic, and Twin-Merging at each rank and λ
(shared = θ0 + λ Σ τ, each E_t = θ_t − shared truncated by float64 SVD to rank r; 1-D tensors whole),
as normalized scores (EM / the expert's EM, mean over the tasks). λ 0 is routed-only."""
import json, math, os
import numpy as np
import torch
import make_zoo as mz

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))


def load_split(task, split, n=None):
    p = os.path.join(REPO, "models", "data", task, f"{split}.jsonl")
    xs = [json.loads(l) for l in open(p)]
    return xs[:n] if n else xs


def trunc(d, r):
    if d.dim() != 2 or r is None:
        return d
    U, S, Vh = torch.linalg.svd(d.double(), full_matrices=False)
    return (U[:, :r] * S[:r]) @ Vh[:r] if r < S.numel() else d.double()


def twin(theta0, experts, lam, r, t):
    shared = {k: theta0[k].double() + lam * sum(e[k].double() - theta0[k].double() for e in experts) for k in theta0}
    e = experts[t]
    return {k: (shared[k] + trunc(e[k].double() - shared[k], r)).float() for k in theta0}


def measure(cfg, theta0, experts, tasks, ranks, res):
    """ranks: (rank, label) pairs. Fills res (relnorm, cos, experts, ta, twin) and prints as it goes."""
    em = lambda sd, items: mz.exact_match(mz.model_from_sd(cfg, sd), items)
    test = {t: load_split(t, "test", 100) for t in tasks}
    wording = {t: load_split(t, "test_wording", 60) for t in tasks}
    k2 = [k for k in theta0 if theta0[k].dim() == 2]
    n0 = math.sqrt(sum(float(theta0[k].double().pow(2).sum()) for k in k2))
    taus = [{k: e[k].double() - theta0[k].double() for k in k2} for e in experts]
    sq = lambda a: sum(float(a[k].pow(2).sum()) for k in k2)
    res["relnorm"] = [math.sqrt(sq(tv)) / n0 for tv in taus]
    res["cos"] = [sum(float((taus[i][k] * taus[j][k]).sum()) for k in k2) / math.sqrt(sq(taus[i]) * sq(taus[j]))
                  for i in range(len(taus)) for j in range(i + 1, len(taus))]
    up, res["experts"] = {}, {}
    for i, t in enumerate(tasks):
        up[t] = em(experts[i], test[t])
        res["experts"][t] = dict(test=up[t], wording=em(experts[i], wording[t]))
    print("experts", res["experts"], "relnorm", [round(x, 3) for x in res["relnorm"]],
          "cos", [round(x, 3) for x in res["cos"]], flush=True)
    res["ta"] = {}
    for lam in [0.3, 0.5, 1.0]:
        sh = {k: theta0[k] + lam * sum(e[k] - theta0[k] for e in experts) for k in theta0}
        res["ta"][lam] = float(np.mean([em(sh, test[t]) / max(up[t], 1e-9) for t in tasks]))
    print("TA", res["ta"], flush=True)
    res["twin"] = {}
    for r, label in ranks:
        for lam in [0, 0.1, 0.2, 1 / 3]:
            s = float(np.mean([em(twin(theta0, experts, lam, r, i), test[t]) / max(up[t], 1e-9) for i, t in enumerate(tasks)]))
            res["twin"][f"r{r} lam{lam:.2f}"] = s
            print(f"{label} λ{lam:.2f} normalized {100 * s:.1f}", flush=True)
