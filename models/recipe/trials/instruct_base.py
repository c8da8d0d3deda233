"""Trial (issue 11; not part of make_zoo.py): does an instruction-tuned base put the experts in a regime
where Twin-Merging's shared part pays?

  /usr/bin/python3 models/recipe/trials/instruct_base.py control [tasks] [tag]   # the committed zoo's experts
  /usr/bin/python3 models/recipe/trials/instruct_base.py instruct [tasks] [tag]  # base + generic curriculum, experts retrained

`instruct` fine-tunes models/base on eight generic word tasks (none of the bundle's, nor caesar/double),
then fine-tunes each task expert from it with make_zoo's settings (FULL), and prints normalized scores
(EM / the expert's EM, oracle routing, 100 test prompts per task) of Twin-Merging (shared = θ0 + λ Σ τ,
each E_t = θ_t − shared truncated by float64 SVD to rank r; 1-D tensors whole) at ranks 8-32 and λ
0-1/3, routed-only (λ 0) and Task Arithmetic. Read on test: it informs the next zoo's design and chooses
nothing. Outputs (models/recipe/work/trials/) are reused on a rerun. docs/limitations.md has the numbers.
"""
import os, sys, json, random, re, time, math
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(REPO, "models", "recipe"))
import torch, numpy as np
import make_zoo as mz

torch.set_num_threads(2)
TASKS3 = sys.argv[2].split(",") if len(sys.argv) > 2 else ["reverse", "sort", "upper"]
MODE = sys.argv[1]  # control | instruct
OUT = os.path.join(REPO, "models", "recipe", "work", "trials", MODE + ("-" + sys.argv[3] if len(sys.argv) > 3 else ""))
os.makedirs(OUT, exist_ok=True)

def load_split(task, split, n=None):
    p = os.path.join(REPO, "models", "data", task, f"{split}.jsonl")
    xs = [json.loads(l) for l in open(p)]
    return xs[:n] if n else xs

base = mz.load_model(os.path.join(REPO, "models", "base"))
cfg = json.load(open(os.path.join(REPO, "models", "base", "config.json")))
base_sd = {k: v.detach().clone() for k, v in base.hf_state_dict().items()}

GENERIC = {
    "copy": (["Repeat the word: {w}", "Say {w}.", "Echo {w}", "Copy this word: {w}", "Write {w} again.", "{w} - repeat it"], lambda w: w),
    "first": (["First letter of {w}?", "What letter does {w} start with?", "Give the first letter of {w}.", "Initial of {w}?"], lambda w: w[0]),
    "last": (["Last letter of {w}?", "What letter does {w} end with?", "Give the final letter of {w}.", "Ending letter of {w}?"], lambda w: w[-1]),
    "length": (["How many letters in {w}?", "Length of {w}?", "Count the letters of {w}.", "How long is the word {w}?"], lambda w: str(len(w))),
    "twice": (["Say {w} twice.", "Repeat {w} two times.", "{w} two times please", "Write {w} twice."], lambda w: w + " " + w),
    "lower": (["Lowercase: {W}", "Make {W} lowercase.", "Write {W} in small letters.", "{W} in lower case?"], lambda w: w),
    "swap": (["Swap the first and last letters of {w}.", "Exchange the ends of {w}.", "Switch the first and last letter in {w}."], lambda w: w[-1] + w[1:-1] + w[0]),
    "drop1": (["Drop the first letter of {w}.", "{w} without its first letter?", "Remove the first letter from {w}."], lambda w: w[1:]),
}

def generic_items(n, seed):
    texts = [l["prompt"] for t in ["reverse", "sort", "upper", "vowels"] for l in load_split(t, "train")]
    words = sorted({w for t in texts for w in re.findall(r"\b[a-z]{3,8}\b", t)})
    rng = random.Random(seed)
    items = []
    for _ in range(n):
        g = rng.choice(list(GENERIC))
        tm, f = GENERIC[g]
        w = rng.choice(words)
        p = rng.choice(tm).format(w=w, W=w.upper())
        items.append({"prompt": p, "answer": f(w)})
    return items

def train_instruct(sd, steps, seed=7):
    items = generic_items(20000, seed)
    data = {"generic": {"train": items, "val": generic_items(200, seed + 1)}}
    H = dict(mz.FULL); H["ft_steps"] = {"generic": steps}; H["ft_stop_at"] = 1.01; H["ft_eval_every"] = 250
    H["ft_task"] = {"generic": dict(l2sp=0.0)}
    m, stats = mz.finetune(sd, cfg, "generic", data, H, "full", seed)
    return {k: v.detach().clone() for k, v in m.hf_state_dict().items()}, stats

def train_expert(sd, task, seed, steps):
    data = {task: {"train": load_split(task, "train"), "val": load_split(task, "val")}}
    H = dict(mz.FULL); H["ft_steps"] = {task: steps}
    m, stats = mz.finetune(sd, cfg, task, data, H, "full", seed)
    return {k: v.detach().clone() for k, v in m.hf_state_dict().items()}, stats

def em(sd, items):
    m = mz.model_from_sd(cfg, sd)
    return mz.exact_match(m, items)

def trunc(d, r):
    if d.dim() != 2 or r is None: return d
    U, S, Vh = torch.linalg.svd(d.double(), full_matrices=False)
    return (U[:, :r] * S[:r]) @ Vh[:r] if r < S.numel() else d.double()

def twin(theta0, experts, lam, r, t):
    shared = {k: theta0[k].double() + lam * sum(e[k].double() - theta0[k].double() for e in experts) for k in theta0}
    e = experts[t]
    return {k: (shared[k] + trunc(e[k].double() - shared[k], r)).float() for k in theta0}

t0 = time.time()
if MODE == "control":
    theta0 = base_sd
    experts = [{k: v for k, v in mz.load_model(os.path.join(REPO, "models", "experts", t)).hf_state_dict().items()} for t in TASKS3]
    log = {}
else:
    steps = int(os.environ.get("INSTRUCT_STEPS", "1500"))
    bp = os.path.join(OUT, "base.pt")
    if os.path.exists(bp):
        theta0 = torch.load(bp)
    else:
        theta0, st = train_instruct(base_sd, steps)
        torch.save(theta0, bp)
        print("instruct", st["seconds"], st["history"][-1], flush=True)
    experts, log = [], {}
    for i, t in enumerate(TASKS3):
        ep = os.path.join(OUT, f"{t}.pt")
        if os.path.exists(ep):
            experts.append(torch.load(ep)); continue
        sd, st = train_expert(theta0, t, 100 + i, mz.FULL["ft_steps"][t])
        torch.save(sd, ep)
        experts.append(sd); log[t] = dict(steps=st["steps"], seconds=st["seconds"], val=st["history"][-1]["val_em"])
        print("expert", t, log[t], flush=True)
test = {t: load_split(t, "test", 100) for t in TASKS3}
wording = {t: load_split(t, "test_wording", 60) for t in TASKS3}
res = {"experts": {}, "log": log}
k2 = [k for k in theta0 if theta0[k].dim() == 2]
n0 = math.sqrt(sum(float(theta0[k].double().pow(2).sum()) for k in k2))
taus = [{k: e[k].double() - theta0[k].double() for k in k2} for e in experts]
res["relnorm"] = [math.sqrt(sum(float(v.pow(2).sum()) for v in tv.values())) / n0 for tv in taus]
def cos(a, b):
    num = sum(float((a[k] * b[k]).sum()) for k in k2); return num / math.sqrt(sum(float(a[k].pow(2).sum()) for k in k2) * sum(float(b[k].pow(2).sum()) for k in k2))
res["cos"] = [cos(taus[i], taus[j]) for i in range(len(taus)) for j in range(i + 1, len(taus))]
up = {}
for i, t in enumerate(TASKS3):
    up[t] = em(experts[i], test[t]); res["experts"][t] = dict(test=up[t], wording=em(experts[i], wording[t]))
print("experts", res["experts"], "relnorm", [round(x, 3) for x in res["relnorm"]], "cos", [round(x, 3) for x in res["cos"]], flush=True)
res["ta"] = {}
for lam in [0.3, 0.5, 1.0]:
    sh = {k: theta0[k] + lam * sum(e[k] - theta0[k] for e in experts) for k in theta0}
    res["ta"][lam] = np.mean([em(sh, test[t]) / max(up[t], 1e-9) for t in TASKS3])
print("TA", res["ta"], flush=True)
res["twin"] = {}
for r in [8, 16, 24, 32]:
    for lam in [0, 0.1, 0.2, 1 / 3]:
        s = np.mean([em(twin(theta0, experts, lam, r, i), test[t]) / max(up[t], 1e-9) for i, t in enumerate(TASKS3)])
        res["twin"][f"r{r} lam{lam:.2f}"] = s
        print(f"r{r} λ{lam:.2f} normalized {100*s:.1f}", flush=True)
res["seconds"] = time.time() - t0
json.dump(res, open(os.path.join(OUT, "result.json"), "w"), indent=1)
