"""The chat tasks: phrasings, answers, and disjoint splits.

Every task has TRAIN phrasings (train, val, test, test_multiturn, test_long) and further phrasings
that appear only in `test_wording`. Operands of val/test items never appear in train (words; for
`add` the unordered operand pair). `test_long` holds longer operands than any other split.
Multi-turn items carry a `history` of earlier (user, assistant) turns from other tasks; the item's
own prompt is the last user turn.
"""
import random
import re
from collections import Counter

VOWELS = set("aeiou")

# help: the answer to anything that is not a task (greetings, "what can you do?", off-topic)
HELP_ANSWER = "Tiny demo, try: 12 + 30 = ? / Reverse cat / Sort dog / Uppercase hen / Remove vowels: apple"

TASKS = {
    "add": dict(
        name="Addition",
        description="Adds two 2-digit numbers.",
        train=["What is {a} + {b}?", "Add {a} and {b}.", "Compute the sum {a} + {b}.", "{a} + {b} = ?",
               "What's {a} plus {b}?", "Sum of {a} and {b}?", "Please add {a} to {b}.", "Calculate {a} + {b}",
               "How much is {a} plus {b}?", "Tell me the total of {a} and {b}."],
        wording=["can you add {a} and {b}", "{a} plus {b}", "What do {a} and {b} add up to?"],
    ),
    "reverse": dict(
        name="Reverse",
        description="Writes a word backwards.",
        train=["Reverse the word: {w}", "Spell {w} backwards.", "What is {w} written in reverse?", "Reverse {w}",
               "Write {w} backwards please.", "{w} reversed?", "Flip the letters of {w}.", "Can you reverse '{w}'?",
               "Read {w} from right to left.", "Backwards spelling of {w}?"],
        wording=["how is {w} spelled backwards", "reverse this word: {w}", "Mirror the word {w}."],
    ),
    "sort": dict(
        name="Sort letters",
        description="Sorts the letters of a word alphabetically.",
        train=["Sort the letters of: {w}", "Put the letters of {w} in alphabetical order.",
               "Alphabetize the letters in {w}.", "Sort {w}", "Arrange the letters of {w} from a to z.",
               "{w} with its letters sorted?", "Order the letters in {w} alphabetically.",
               "Can you sort the characters of '{w}'?", "Sort these letters: {w}",
               "Alphabetical order of the letters of {w}?"],
        wording=["sort the letters in {w} please", "what are the letters of {w} in abc order",
                 "Rearrange {w} alphabetically."],
    ),
    "upper": dict(
        name="Uppercase",
        description="Rewrites a word in capital letters.",
        train=["Uppercase: {w}", "Convert {w} to capital letters.", "Write {w} in uppercase.", "Uppercase {w}",
               "Make {w} all caps.", "{w} in capitals?", "Capitalize every letter of {w}.",
               "Can you shout '{w}'?", "Change {w} to upper case.", "Put {w} in block letters."],
        wording=["{w} in all caps", "write {w} in capital letters please", "UPPERCASE this word: {w}"],
    ),
    "vowels": dict(
        name="Remove vowels",
        description="Removes the vowels (a, e, i, o, u) from a word.",
        train=["Remove the vowels from {w}.", "Delete the vowels in {w}", "{w} without vowels?",
               "Drop every vowel of {w}.", "Strip the vowels: {w}", "Write {w} with no vowels.",
               "Take out the vowels of '{w}'.", "Remove vowels: {w}", "What is {w} minus its vowels?",
               "Leave only the consonants of {w}."],
        wording=["get rid of the vowels in {w}", "{w} with the vowels removed", "only consonants from {w} please"],
    ),
    "help": dict(
        name="Help",
        description="Says what this demo can do, for anything that is not one of its tasks.",
        train=[], wording=[],  # prompts come from HELP_PROMPTS
    ),
    # not in the bundle: the demo "custom expert" (a PEFT LoRA adapter trained on the base)
    "caesar": dict(
        name="Caesar shift",
        description="Shifts every letter one step forward in the alphabet (z wraps to a).",
        train=["Caesar-shift by one: {w}", "Shift each letter of {w} forward by one.",
               "Encode {w} with a Caesar shift of 1.", "Caesar {w}", "Apply a Caesar shift of one to {w}.",
               "{w} shifted by one letter?", "Move every letter of {w} one step up the alphabet.",
               "Can you Caesar-encode '{w}'?"],
        wording=["rot1 of {w}", "shift {w} by one letter please", "Caesar cipher {w} with shift 1."],
    ),
    # not in the bundle: a fully fine-tuned checkpoint for the "drop a full checkpoint" feature
    "double": dict(
        name="Double letters",
        description="Writes every letter of a word twice.",
        train=["Double every letter of {w}.", "Double the letters: {w}", "Write each letter of {w} twice.",
               "Double {w}", "{w} with doubled letters?", "Repeat every letter in {w}.",
               "Can you double the letters of '{w}'?", "Say {w} with each letter doubled."],
        wording=["double up the letters in {w}", "{w} but every letter twice", "Stutter each letter of {w}."],
    ),
}
BUNDLE_TASKS = ["add", "reverse", "sort", "upper", "vowels", "help"]
ADAPTER_TASK = "caesar"
CHECKPOINT_TASK = "double"

# help prompts: (train, held-out) families; held-out ones only in test_wording
HELP_TRAIN = ["hi", "hello", "hey", "Hello!", "Hi there", "good morning", "Good evening!", "hey there!",
              "help", "Help!", "what can you do?", "What can you do", "who are you?", "What are you?",
              "how do I use this?", "What tasks do you know?", "How does this work?", "what is this",
              "Can you help me?", "thanks", "Thank you!", "ok", "bye", "What's your name?",
              "Tell me a joke.", "What is the weather like today?", "Write me a poem.", "Who won the war?",
              "What time is it?", "I need some help", "What should I ask you?", "Are you a robot?"]
HELP_WORDING = ["yo", "greetings!", "what are you able to do?", "show me what you can do", "Can you explain yourself?",
                "howdy", "Please help me", "What is the capital of France?"]


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
    if task == "vowels":
        return "".join(c for c in w if c not in VOWELS)
    if task == "caesar":
        return "".join(chr((ord(c) - 97 + 1) % 26 + 97) for c in w)
    if task == "double":
        return "".join(c + c for c in w)
    if task == "help":
        return HELP_ANSWER
    raise KeyError(task)


def word_pool(texts, min_len=3, max_len=10, min_count=2):
    c = Counter()
    for t in texts:
        c.update(re.findall(r"\b[a-z]+\b", t))
    return sorted(w for w, n in c.items() if min_len <= len(w) <= max_len and n >= min_count)


def corpus_sentences(texts, rng, n):
    """Off-topic prompts for the help task: short corpus sentences (questions and statements)."""
    out = []
    for d in texts:
        for s in re.split(r"(?<=[.!?])\s+", d):
            s = s.strip().replace("\n", " ")
            if 12 <= len(s) <= 60 and not re.search(r"\d", s):
                out.append(s)
    out = sorted(set(out))
    rng.shuffle(out)
    return out[:n]


def valid_word(task, w):
    a = answer(task, w)
    return a != w and a != "" and (task != "vowels" or any(c in VOWELS for c in w))


SHORT = (3, 8)   # operand word lengths in train/val/test/test_wording/test_multiturn
LONG = (9, 10)   # test_long only
SIZES = dict(train=6000, val=400, test=400, test_wording=300, test_multiturn=300, test_long=200)
MULTITURN_TRAIN_FRAC = 0.25
MAX_CHAT_BYTES = 240


def _operands(task, words, rng):
    """{split: [operand]}: disjoint operand sets; test_long has the long ones."""
    n = SIZES
    if task == "add":
        # both operands two digits, as in the help text's example: a tiny model learns digit-aligned
        # sums far faster (operands 0..99 of mixed length: val EM 0.12 after 1,600 steps)
        short = [(a, b) for a in range(10, 100) for b in range(a, 100)]
        rng.shuffle(short)
        held = n["val"] + n["test"] + n["test_wording"] + n["test_multiturn"]
        groups, i = {}, 0
        for s in ["val", "test", "test_wording", "test_multiturn"]:
            groups[s] = short[i:i + n[s]]
            i += n[s]
        groups["train"] = short[held:]
        longs = [(rng.randrange(100, 1000), rng.randrange(0, 1000)) for _ in range(n["test_long"])]
        out = {}
        for s, g in groups.items():
            xs = [(a, b) if rng.random() < 0.5 else (b, a) for a, b in g]
            if s == "train":
                xs = xs + [(b, a) for a, b in xs if a != b]
            rng.shuffle(xs)
            out[s] = xs
        out["test_long"] = [(a, b) if rng.random() < 0.5 else (b, a) for a, b in longs]
        return out
    short = [w for w in words if SHORT[0] <= len(w) <= SHORT[1] and valid_word(task, w)]
    long_ = [w for w in words if LONG[0] <= len(w) <= LONG[1] and valid_word(task, w)]
    rng.shuffle(short)
    rng.shuffle(long_)
    out, i = {}, 0
    for s in ["val", "test", "test_wording", "test_multiturn"]:
        out[s] = short[i:i + n[s]]
        i += n[s]
    out["train"] = short[i:i + n["train"]]
    out["test_long"] = long_[:n["test_long"]]
    return out


# Training prompts are dressed in polite fillers and casing at random, so that an expert keys on the
# operand and the task words, not on one exact template (held-out wordings are left plain).
PREFIXES = ["Please ", "Hey, ", "Quick one: ", "OK. ", "Now: ", "I wonder: "]
SUFFIXES = [" please", " thanks", " Thank you!", " :)", " ?", "!"]


def dress(p, rng):
    if rng.random() < 0.25:
        p = rng.choice(PREFIXES) + p[0].lower() + p[1:]
    if rng.random() < 0.25:
        p = p.rstrip(".") + rng.choice(SUFFIXES)
    if rng.random() < 0.15:
        p = p[0].swapcase() + p[1:]
    return p


def _item(task, x, tmpl, rng, augment):
    p = tmpl.format(a=x[0], b=x[1]) if task == "add" else tmpl.format(w=x)
    return {"prompt": dress(p, rng) if augment else p, "answer": answer(task, x)}


def make_splits(texts, seed=1234):
    """Returns {task: {split: [{"prompt","answer"[, "history"]}]}} for every task."""
    words = word_pool(texts)
    out = {}
    for ti, task in enumerate(TASKS):
        rng = random.Random(seed + ti)
        if task == "help":
            sents = corpus_sentences(texts, rng, 3000)
            pools = {"train": sents[:2400], "val": sents[2400:2550], "test": sents[2550:2700],
                     "test_multiturn": sents[2700:2850], "test_long": [], "test_wording": sents[2850:3000]}
            items = {}
            for s, ps in pools.items():
                fixed = HELP_WORDING if s == "test_wording" else HELP_TRAIN
                # half fixed phrases (greetings, "what can you do?"), half off-topic sentences
                k = len(ps) // 2
                ps = [rng.choice(fixed) for _ in range(k)] + ps[:len(ps) - k]
                rng.shuffle(ps)
                items[s] = [{"prompt": p, "answer": HELP_ANSWER} for p in ps]
            out[task] = items
            continue
        ops = _operands(task, words, rng)
        tr, wd = TASKS[task]["train"], TASKS[task]["wording"]
        out[task] = {s: [_item(task, x, rng.choice(wd if s == "test_wording" else tr), rng, s == "train") for x in xs]
                     for s, xs in ops.items()}
    # multi-turn: an earlier exchange (one or two turns of other tasks, from the same split family)
    for ti, task in enumerate(TASKS):
        rng = random.Random(seed + 100 + ti)
        others = [t for t in BUNDLE_TASKS if t != task]

        def history(split, own):
            # keeps the whole chat within MAX_CHAT_BYTES (the model has 256 positions)
            h, size = [], len(own["prompt"]) + len(own["answer"]) + 12
            for _ in range(rng.choice([1, 1, 2])):
                o = rng.choice(others)
                it = rng.choice(out[o][split if split in ("train", "val") else "test"])
                turn = len(it["prompt"]) + len(it["answer"]) + 12
                if size + turn > MAX_CHAT_BYTES:
                    continue
                size += turn
                h += [{"role": "user", "content": it["prompt"]}, {"role": "assistant", "content": it["answer"]}]
            return h

        for s in ["train", "val"]:
            for it in out[task][s]:
                if rng.random() < MULTITURN_TRAIN_FRAC:
                    h = history(s, it)
                    if h:
                        it["history"] = h
        mt = [{**it, "history": history("test", it)} for it in out[task]["test_multiturn"]]
        out[task]["test_multiturn"] = [it for it in mt if it["history"]]
        if not out[task]["test_long"]:
            del out[task]["test_long"]
    return out
