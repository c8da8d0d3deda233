// Scoring for `twinmerge eval`: exact match, the paper's normalized score (Eq. 4), and the choice of
// a variant's hyper-parameters on the validation split. Pure functions (no I/O).

/** Exact match: the generated text (which stops at EOS) equals the answer, both trimmed. */
export function exactMatch(generated: string, answer: string, finished = true): boolean {
  return finished && generated.trim() === answer.trim();
}

/**
 * Whether generation that has produced `text` so far can still end in an exact match (a partial
 * UTF-8 character, decoded as U+FFFD, never rules it out).
 */
export function canStillMatch(text: string, answer: string): boolean {
  if (text.includes('\uFFFD')) return true;
  const t = text.trimStart();
  const a = answer.trim();
  return a.startsWith(t) || (t.startsWith(a) && t.slice(a.length).trim() === '');
}

/** Per task: exact-match rate in [0, 1] and the counts. */
export interface TaskScore {
  correct: number;
  total: number;
  em: number;
}

export function taskScore(correct: number, total: number): TaskScore {
  return { correct, total, em: total > 0 ? correct / total : 0 };
}

/**
 * Normalized score of one task, in percent: 100 × EM(merged) / EM(fine-tuned expert on its own task)
 * (Twin-Merging, Eq. 4). Undefined (null) when the expert itself scores 0.
 */
export function normalizedScore(merged: number, expert: number): number | null {
  return expert > 0 ? (100 * merged) / expert : null;
}

/** Per-task normalized scores and their mean over the tasks where it is defined (null if none). */
export function normalizedScores(
  tasks: readonly string[],
  em: Readonly<Record<string, number>>,
  expertEm: Readonly<Record<string, number>>,
): { perTask: Record<string, number | null>; average: number | null } {
  const perTask: Record<string, number | null> = {};
  const defined: number[] = [];
  for (const t of tasks) {
    const v = normalizedScore(em[t] ?? 0, expertEm[t] ?? 0);
    perTask[t] = v;
    if (v !== null) defined.push(v);
  }
  return { perTask, average: defined.length ? defined.reduce((a, b) => a + b, 0) / defined.length : null };
}

/**
 * The selection criterion on val: the mean over tasks of EM / expert EM (a task whose expert scores
 * 0 on val counts with its raw EM), so every task weighs the same whatever its ceiling.
 */
export function selectionScore(tasks: readonly string[], em: Readonly<Record<string, number>>, expertEm: Readonly<Record<string, number>>): number {
  if (tasks.length === 0) return 0;
  let s = 0;
  for (const t of tasks) {
    const e = expertEm[t] ?? 0;
    s += e > 0 ? (em[t] ?? 0) / e : (em[t] ?? 0);
  }
  return s / tasks.length;
}

/** The best candidate by score; ties go to the earliest candidate (the grid's order). */
export function chooseBest<T>(cands: readonly { value: T; score: number }[]): { value: T; score: number } {
  if (cands.length === 0) throw new Error('chooseBest: no candidates');
  let best = cands[0]!;
  for (const c of cands) if (c.score > best.score) best = c;
  return best;
}

/**
 * Routing weights as the composer uses them: weights below `skipBelow` are dropped (as the app's
 * composer does), the rest rounded to a grid of `round` (0 = exact), so near-identical routings
 * share one composition. Returns the weights and a stable key.
 */
export function quantizeRouting(w: ArrayLike<number>, skipBelow: number, round: number): { weights: number[]; key: string } {
  const weights = Array.from(w, (x) => {
    if (!(Math.abs(x) >= skipBelow) || x === 0) return 0;
    return round > 0 ? Math.round(x / round) * round : x;
  });
  const digits = round > 0 ? Math.max(0, Math.ceil(-Math.log10(round))) : 17;
  return { weights, key: weights.map((x) => (round > 0 ? x.toFixed(digits) : String(x))).join(',') };
}
