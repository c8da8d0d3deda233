"""A tiny Llama in plain PyTorch, with Hugging Face Llama tensor names.

RMSNorm (fp32 statistics), RoPE in HF's rotate-half convention, SwiGLU MLP,
grouped-query attention (num_key_value_heads < num_attention_heads), no biases,
tied input/output embeddings. state_dict() keys are exactly HF's
(model.embed_tokens.weight, model.layers.N.self_attn.q_proj.weight, ...).
Optional LoRA on the linear layers (PEFT conventions: A [r, in], B [out, r],
scaling = alpha / r).
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def default_config(**over):
    cfg = dict(
        architectures=["LlamaForCausalLM"], model_type="llama",
        vocab_size=264, hidden_size=128, intermediate_size=352, num_hidden_layers=4,
        num_attention_heads=4, num_key_value_heads=2, head_dim=32, hidden_act="silu",
        max_position_embeddings=256, rms_norm_eps=1e-5, rope_theta=10000.0, rope_scaling=None,
        attention_bias=False, attention_dropout=0.0, mlp_bias=False, tie_word_embeddings=True,
        initializer_range=0.02, bos_token_id=256, eos_token_id=258, pad_token_id=256,
        torch_dtype="float32", use_cache=True,
    )
    cfg.update(over)
    return cfg


class RMSNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        dt = x.dtype
        x = x.float()
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x.to(dt)


class Linear(nn.Module):
    """nn.Linear without bias, plus an optional LoRA branch."""

    def __init__(self, fin, fout):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(fout, fin))
        self.lora_A = None
        self.lora_B = None
        self.scaling = 0.0

    def add_lora(self, r, alpha):
        fout, fin = self.weight.shape
        self.lora_A = nn.Parameter(torch.empty(r, fin))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))  # as PEFT
        self.lora_B = nn.Parameter(torch.zeros(fout, r))
        self.scaling = alpha / r

    def delta(self):
        return self.scaling * (self.lora_B @ self.lora_A)

    def forward(self, x):
        y = F.linear(x, self.weight)
        if self.lora_A is not None:
            y = y + self.scaling * F.linear(F.linear(x, self.lora_A), self.lora_B)
        return y


def rotate_half(x):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, self.nh, self.nkv, self.hd = c["hidden_size"], c["num_attention_heads"], c["num_key_value_heads"], c["head_dim"]
        self.q_proj = Linear(d, self.nh * self.hd)
        self.k_proj = Linear(d, self.nkv * self.hd)
        self.v_proj = Linear(d, self.nkv * self.hd)
        self.o_proj = Linear(self.nh * self.hd, d)

    def forward(self, x, cos, sin, bias, past):
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.nh, self.hd).transpose(1, 2)
        k = self.k_proj(x).view(B, T, self.nkv, self.hd).transpose(1, 2)
        v = self.v_proj(x).view(B, T, self.nkv, self.hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if past is not None:
            k = torch.cat([past[0], k], dim=2)
            v = torch.cat([past[1], v], dim=2)
        present = (k, v)
        rep = self.nh // self.nkv  # HF repeat_kv: kv head j serves q heads j*rep .. j*rep+rep-1
        k = k.repeat_interleave(rep, dim=1)
        v = v.repeat_interleave(rep, dim=1)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(self.hd) + bias
        att = att.float().softmax(-1).to(q.dtype)
        y = (att @ v).transpose(1, 2).reshape(B, T, self.nh * self.hd)
        return self.o_proj(y), present


class MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, f = c["hidden_size"], c["intermediate_size"]
        self.gate_proj = Linear(d, f)
        self.up_proj = Linear(d, f)
        self.down_proj = Linear(f, d)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.input_layernorm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        self.self_attn = Attention(c)
        self.post_attention_layernorm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        self.mlp = MLP(c)

    def forward(self, x, cos, sin, bias, past):
        a, present = self.self_attn(self.input_layernorm(x), cos, sin, bias, past)
        x = x + a
        x = x + self.mlp(self.post_attention_layernorm(x))
        return x, present


class Inner(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embed_tokens = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.layers = nn.ModuleList([Block(c) for _ in range(c["num_hidden_layers"])])
        self.norm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])


LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


class LlamaForCausalLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.config = c
        self.model = Inner(c)
        assert c["tie_word_embeddings"]
        hd = c["head_dim"]
        inv = 1.0 / (c["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd))
        self.register_buffer("inv_freq", inv, persistent=False)
        std = c["initializer_range"]
        for n, p in self.named_parameters():
            if p.dim() == 2:
                nn.init.normal_(p, std=std)
        # GPT-2 style: shrink residual-output projections
        for blk in self.model.layers:
            nn.init.normal_(blk.self_attn.o_proj.weight, std=std / math.sqrt(2 * c["num_hidden_layers"]))
            nn.init.normal_(blk.mlp.down_proj.weight, std=std / math.sqrt(2 * c["num_hidden_layers"]))

    # ---- LoRA helpers -------------------------------------------------
    def linears(self):
        for i, blk in enumerate(self.model.layers):
            for name in ["q_proj", "k_proj", "v_proj", "o_proj"]:
                yield f"model.layers.{i}.self_attn.{name}", getattr(blk.self_attn, name)
            for name in ["gate_proj", "up_proj", "down_proj"]:
                yield f"model.layers.{i}.mlp.{name}", getattr(blk.mlp, name)

    def add_lora(self, r, alpha):
        for _, m in self.linears():
            m.add_lora(r, alpha)

    def hf_state_dict(self, merge_lora=True):
        """Plain HF Llama tensors (fp32); LoRA folded in when present."""
        sd = {}
        for n, p in self.named_parameters():
            if "lora_" in n:
                continue
            sd[n] = p.detach().clone().float()
        if merge_lora:
            for name, m in self.linears():
                if m.lora_A is not None:
                    sd[name + ".weight"] = (m.weight + m.delta()).detach().float()
        return sd

    def peft_state_dict(self):
        sd = {}
        for name, m in self.linears():
            sd[f"base_model.model.{name}.lora_A.weight"] = m.lora_A.detach().clone().float()
            sd[f"base_model.model.{name}.lora_B.weight"] = m.lora_B.detach().clone().float()
        return sd

    def load_hf(self, sd):
        missing, unexpected = self.load_state_dict(sd, strict=False)
        missing = [m for m in missing if "lora_" not in m]
        assert not missing and not unexpected, (missing, unexpected)

    # ---- forward --------------------------------------------------------
    def forward(self, ids, pos=None, pad_mask=None, past=None):
        """ids [B,T]; pos [B,T] positions (default 0..T-1, offset by past length);
        pad_mask [B, past+T] (1 = real token) for left-padded batches;
        past: list of (k, v) per layer. Returns (logits fp32 [B,T,V], presents)."""
        B, T = ids.shape
        P = 0 if past is None else past[0][0].shape[2]
        if pos is None:
            pos = torch.arange(P, P + T).unsqueeze(0).expand(B, T)
        f = pos.float().unsqueeze(-1) * self.inv_freq
        emb = torch.cat([f, f], dim=-1)
        cos, sin = emb.cos().unsqueeze(1), emb.sin().unsqueeze(1)  # [B,1,T,hd]
        x = self.model.embed_tokens(ids)
        if torch.is_autocast_cpu_enabled():
            dt = torch.get_autocast_cpu_dtype()
            cos, sin = cos.to(dt), sin.to(dt)
        qi = torch.arange(P, P + T).unsqueeze(1)
        ki = torch.arange(P + T).unsqueeze(0)
        bias = torch.zeros(T, P + T)
        # finite "minus infinity": a left-pad query whose keys are all masked gets a uniform
        # (harmless) distribution instead of NaN, which would leak through 0 * NaN
        bias = bias.masked_fill(ki > qi, -1e9)[None, None]
        if pad_mask is not None:
            bias = bias.masked_fill(pad_mask[:, None, None, :] == 0, -1e9)
        presents = []
        for i, blk in enumerate(self.model.layers):
            x, pr = blk(x, cos, sin, bias, None if past is None else past[i])
            presents.append(pr)
        x = self.model.norm(x)
        logits = F.linear(x, self.model.embed_tokens.weight)
        return logits.float(), presents


@torch.no_grad()
def greedy(model, prompts, max_new, eos_ids=(258, 256), return_margin=False):
    """Batched greedy decoding with a KV cache and left padding (fp32).
    Returns generated ids per prompt (without the eos token)."""
    model.eval()
    B = len(prompts)
    L = max(len(p) for p in prompts)
    ids = torch.full((B, L), 256, dtype=torch.long)
    mask = torch.zeros(B, L, dtype=torch.long)
    for i, p in enumerate(prompts):
        ids[i, L - len(p):] = torch.tensor(p)
        mask[i, L - len(p):] = 1
    pos = (mask.cumsum(1) - 1).clamp(min=0)
    logits, past = model(ids, pos=pos, pad_mask=mask)
    nxt_pos = pos[:, -1:] + 1
    out = [[] for _ in range(B)]
    margins = [float("inf")] * B
    done = torch.zeros(B, dtype=torch.bool)
    last = logits[:, -1]
    for step in range(max_new):
        top2 = last.topk(2, dim=-1)
        tok = top2.indices[:, 0]
        for i in range(B):
            if not done[i]:
                margins[i] = min(margins[i], float(top2.values[i, 0] - top2.values[i, 1]))
                t = int(tok[i])
                if t in eos_ids:
                    done[i] = True
                else:
                    out[i].append(t)
        if bool(done.all()) or step == max_new - 1:
            break
        mask = torch.cat([mask, torch.ones(B, 1, dtype=torch.long)], dim=1)
        logits, past = model(tok.unsqueeze(1), pos=nxt_pos, pad_mask=mask, past=past)
        nxt_pos = nxt_pos + 1
        last = logits[:, -1]
    return (out, margins) if return_margin else out
