"""The five chat tasks: prompts, answers, and disjoint train/val/test splits."""
import random
import re
from collections import Counter

TASKS = {
    "add": dict(
        name="Addition",
        description="Adds two 2-digit numbers.",
        templates=["What is {a} + {b}?", "Add {a} and {b}.", "Compute the sum {a} + {b}."],
    ),
    "reverse": dict(
        name="Reverse",
        description="Writes a word backwards.",
        templates=["Reverse the word: {w}", "Spell {w} backwards.", "What is {w} written in reverse?"],
    ),
    "sort": dict(
        name="Sort letters",
        description="Sorts the letters of a word alphabetically.",
        templates=["Sort the letters of: {w}", "Put the letters of {w} in alphabetical order.",
                   "Alphabetize the letters in {w}."],
    ),
    "upper": dict(
        name="Uppercase",
        description="Rewrites a word in capital letters.",
        templates=["Uppercase: {w}", "Convert {w} to capital letters.", "Write {w} in uppercase."],
    ),
    # fifth task: the PEFT LoRA adapter trained on the base (the demo "custom expert")
    "caesar": dict(
        name="Caesar shift",
        description="Shifts every letter one step forward in the alphabet (z wraps to a).",
        templates=["Caesar-shift by one: {w}", "Shift each letter of {w} forward by one.",
                   "Encode {w} with a Caesar shift of 1."],
    ),
}
EXPERT_TASKS = ["add", "reverse", "sort", "upper"]
ADAPTER_TASK = "caesar"


def answer(task, x):
    if task == "add":
        return str(x[0] + x[1])
    w = x
    if task == "reverse":
        return w[::-1]
    if task == "sort":
        return "".join(sorted(w))
    if task == "upper":
        return w.upper()
    if task == "caesar":
        return "".join(chr((ord(c) - 97 + 1) % 26 + 97) for c in w)
    raise KeyError(task)


def word_pool(texts, min_len=3, max_len=8, min_count=2):
    c = Counter()
    for t in texts:
        c.update(re.findall(r"\b[a-z]+\b", t))
    words = sorted(w for w, n in c.items() if min_len <= len(w) <= max_len and n >= min_count)
    return words


def make_splits(words, n_val=500, n_test=500, n_train=4000, seed=1234):
    """Returns {task: {split: [{"prompt","answer"}]}}. Test/val items never share an
    operand pair (add; unordered) or a word (the others) with train or with each other."""
    out = {}
    for ti, task in enumerate(TASKS):
        rng = random.Random(seed + ti)
        tmpl = TASKS[task]["templates"]
        if task == "add":
            pairs = [(a, b) for a in range(10, 100) for b in range(a, 100)]
            rng.shuffle(pairs)
            groups = {"test": pairs[:n_test], "val": pairs[n_test:n_test + n_val], "train": pairs[n_test + n_val:]}
            items = {}
            for s, g in groups.items():
                if s == "train":  # both orders of every train pair
                    xs = [(a, b) for a, b in g] + [(b, a) for a, b in g if a != b]
                else:  # one random order of every held-out pair
                    xs = [(a, b) if rng.random() < 0.5 else (b, a) for a, b in g]
                rng.shuffle(xs)
                items[s] = [{"prompt": rng.choice(tmpl).format(a=a, b=b), "answer": answer(task, (a, b))} for a, b in xs]
        else:
            ws = [w for w in words if answer(task, w) != w]
            rng.shuffle(ws)
            groups = {"test": ws[:n_test], "val": ws[n_test:n_test + n_val], "train": ws[n_test + n_val:n_test + n_val + n_train]}
            items = {s: [{"prompt": rng.choice(tmpl).format(w=w), "answer": answer(task, w)} for w in g]
                     for s, g in groups.items()}
        out[task] = items
    return out
