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
import os, sys, json, random, re, time
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(REPO, "models", "recipe"))
import torch
import make_zoo as mz
sys.path.insert(0, HERE)
import curve  # noqa: E402
from curve import load_split  # noqa: E402

torch.set_num_threads(2)
TASKS3 = sys.argv[2].split(",") if len(sys.argv) > 2 else ["reverse", "sort", "upper"]
MODE = sys.argv[1]  # control | instruct
OUT = os.path.join(REPO, "models", "recipe", "work", "trials", MODE + ("-" + sys.argv[3] if len(sys.argv) > 3 else ""))
os.makedirs(OUT, exist_ok=True)

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
res = {"experts": {}, "log": log}
curve.measure(cfg, theta0, experts, TASKS3, [(r, f"r{r}") for r in [8, 16, 24, 32]], res)
res["seconds"] = time.time() - t0
json.dump(res, open(os.path.join(OUT, "result.json"), "w"), indent=1)
