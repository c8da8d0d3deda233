"""Byte-level tokenizer: ids 0..255 are raw bytes, then special tokens.

The same mapping is written as a Hugging Face tokenizer.json (BPE with an empty
merges list over the 256 GPT-2 byte-level symbols, ByteLevel pre-tokenizer and
decoder) so transformers.js produces identical ids (checked by check_tokenizer.mjs).
"""
import json
import os
import re

EOT, IM_START, IM_END = 256, 257, 258
SPECIAL = {"<|endoftext|>": EOT, "<|im_start|>": IM_START, "<|im_end|>": IM_END}
# ids 259..263 are reserved so that every id of the padded vocabulary decodes.
for _i in range(5):
    SPECIAL[f"<|reserved_{_i}|>"] = 259 + _i
VOCAB_SIZE = 264  # 256 bytes + 3 specials + 5 reserved = multiple of 8
ID_TO_SPECIAL = {v: k for k, v in SPECIAL.items()}
_SPLIT = re.compile("(" + "|".join(re.escape(s) for s in SPECIAL) + ")")

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


def encode(text):
    """Text -> ids; special-token strings in the text become their ids."""
    ids = []
    for part in _SPLIT.split(text):
        if not part:
            continue
        if part in SPECIAL:
            ids.append(SPECIAL[part])
        else:
            ids.extend(part.encode("utf-8"))
    return ids


def decode(ids, skip_special=False):
    out, buf = [], bytearray()
    for i in ids:
        if i < 256:
            buf.append(i)
        else:
            out.append(buf.decode("utf-8", errors="replace"))
            buf = bytearray()
            if not skip_special:
                out.append(ID_TO_SPECIAL[i])
    out.append(buf.decode("utf-8", errors="replace"))
    return "".join(out)


def chat_prompt(user, history=None):
    """ids the model sees before generating the assistant answer (after earlier turns, if any)."""
    turns = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in history or [])
    return encode(f"{turns}<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n")


def chat_example(user, answer, history=None):
    """(ids, loss_mask): the prompt, then answer + <|im_end|> (loss only on those)."""
    p = chat_prompt(user, history)
    a = encode(answer) + [IM_END]
    return p + a, [0] * len(p) + [1] * len(a)


def bytes_to_unicode():
    """GPT-2's reversible byte -> printable unicode char map."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def write_tokenizer(folder):
    b2u = bytes_to_unicode()
    vocab = {b2u[b]: b for b in range(256)}
    added = [
        {"id": i, "content": s, "single_word": False, "lstrip": False, "rstrip": False,
         "normalized": False, "special": True}
        for s, i in sorted(SPECIAL.items(), key=lambda kv: kv[1])
    ]
    tj = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False},
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False},
        "model": {
            "type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
            "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
            "vocab": vocab, "merges": [],
        },
    }
    with open(os.path.join(folder, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tj, f, ensure_ascii=False, indent=1)
    tc = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": "<|endoftext|>",
        "eos_token": "<|im_end|>",
        "pad_token": "<|endoftext|>",
        "unk_token": None,
        "add_bos_token": False,
        "add_eos_token": False,
        "clean_up_tokenization_spaces": False,
        "model_max_length": 256,
        "chat_template": CHAT_TEMPLATE,
        "added_tokens_decoder": {str(a["id"]): {k: v for k, v in a.items() if k != "id"} for a in added},
    }
    with open(os.path.join(folder, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(tc, f, ensure_ascii=False, indent=1)
