"""Trial (issue 11; not part of make_zoo.py): does a wider base put the experts in a regime where
Twin-Merging's shared part pays?

  /usr/bin/python3 models/recipe/trials/wide_base.py [tasks] [width]   # default reverse,sort,upper 256

Pretrains a base of the given width with make_zoo's corpus and settings (FULL: 2,000 steps of 16 x 256
tokens; heads of 32 as in the shipped base, MLP 2.75x), fine-tunes each task expert from it with make_zoo's
settings, and prints normalized scores (EM / the expert's EM, oracle routing, 100 test prompts per task)
of Twin-Merging (shared = θ0 + λ Σ τ, each E_t = θ_t − shared truncated by float64 SVD to rank r; 1-D
tensors whole), routed-only (λ 0) and Task Arithmetic, at ranks whose byte share matches the shipped
zoo's rank 8/16/24/32 at width 128 (rank scaled by width / 128). Read on test: it informs the next zoo's
design and chooses nothing. Outputs (models/recipe/work/trials/wide-<width>/) are reused on a rerun.
docs/limitations.md has the numbers.
"""
import os, sys, json, time
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(REPO, "models", "recipe"))
import torch
import make_zoo as mz
from model import default_config
sys.path.insert(0, HERE)
import curve  # noqa: E402
from curve import load_split  # noqa: E402

torch.set_num_threads(2)
TASKS = sys.argv[1].split(",") if len(sys.argv) > 1 else ["reverse", "sort", "upper"]
WIDTH = int(sys.argv[2]) if len(sys.argv) > 2 else 256
OUT = os.path.join(REPO, "models", "recipe", "work", "trials", f"wide-{WIDTH}")
os.makedirs(OUT, exist_ok=True)
H = dict(mz.FULL)
if os.environ.get("WIDE_PRE_STEPS"):
    H["pre_steps"] = int(os.environ["WIDE_PRE_STEPS"])
cfg = default_config(hidden_size=WIDTH, intermediate_size=WIDTH * 11 // 4, num_attention_heads=WIDTH // 32,
                     num_key_value_heads=WIDTH // 64)


t0 = time.time()
res = {"width": WIDTH, "tasks": TASKS, "config": cfg, "log": {}}
bp = os.path.join(OUT, "base.pt")
if os.path.exists(bp):
    theta0 = torch.load(bp)
else:
    base, st = mz.pretrain(cfg, mz.load_corpus(), H)
    theta0 = {k: v.detach().clone() for k, v in base.hf_state_dict().items()}
    torch.save(theta0, bp)
    json.dump(st, open(os.path.join(OUT, "pretrain.json"), "w"), indent=1)
    print("pretrain", st, flush=True)
res["pretrain"] = json.load(open(os.path.join(OUT, "pretrain.json")))
experts = []
for i, t in enumerate(TASKS):
    ep = os.path.join(OUT, f"{t}.pt")
    if not os.path.exists(ep):
        data = {t: {"train": load_split(t, "train"), "val": load_split(t, "val")}}
        m, st = mz.finetune(theta0, cfg, t, data, H, "full", 100 + i)
        torch.save({k: v.detach().clone() for k, v in m.hf_state_dict().items()}, ep)
        json.dump(dict(steps=st["steps"], seconds=st["seconds"], val=st["history"][-1]["val_em"]),
                  open(os.path.join(OUT, f"{t}.json"), "w"))
    experts.append(torch.load(ep))
    res["log"][t] = json.load(open(os.path.join(OUT, f"{t}.json")))
    print("expert", t, res["log"][t], flush=True)

curve.measure(cfg, theta0, experts, TASKS, [(r128 * WIDTH // 128, f"r{r128 * WIDTH // 128} (share of r{r128} at 128)") for r128 in [8, 16, 24, 32]], res)
res["seconds"] = time.time() - t0
json.dump(res, open(os.path.join(OUT, "result.json"), "w"), indent=1)
