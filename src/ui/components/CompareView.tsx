import { diffChars } from 'diff';
import { useState, type RefObject } from 'react';
import type { ExpertInfo, GenerationDone, GenerationSettings } from '../../worker/protocol.ts';
import type { TwinmergeEngine } from '../../api/engine.ts';
import { RoutingBars } from './RoutingBars.tsx';
import { TimingsLine } from './TimingsLine.tsx';

interface Column {
  key: 'twin' | 'expert' | 'static';
  title: string;
  subtitle: string;
  result: GenerationDone | null;
  error?: string;
}

/** The answer with the characters that differ from the reference (the fine-tuned expert's) marked. */
function Highlighted({ text, reference }: { text: string; reference: string | null }) {
  if (reference === null || reference === text) return <>{text}</>;
  return (
    <>
      {diffChars(reference, text).map((part, i) =>
        part.removed ? null : part.added ? (
          <mark key={i} className="diff" title="differs from the fine-tuned expert">
            {part.value}
          </mark>
        ) : (
          <span key={i}>{part.value}</span>
        ),
      )}
    </>
  );
}

interface Props {
  client: RefObject<TwinmergeEngine | null>;
  experts: ExpertInfo[];
  settings: GenerationSettings;
  ready: boolean;
  /** Called when a comparison has ended. */
  onAnswered?: () => void;
}

export function CompareView({ client, experts, settings, ready, onAnswered }: Props) {
  const [prompt, setPrompt] = useState('');
  const [columns, setColumns] = useState<Column[]>([]);
  const [busy, setBusy] = useState(false);
  const names = new Map(experts.map((e) => [e.id, e.name]));

  const run = async () => {
    const engine = client.current;
    const text = prompt.trim();
    if (!engine || !text) return;
    setBusy(true);
    const cols: Column[] = [
      { key: 'twin', title: 'Twin-Merging', subtitle: 'shared + routed exclusive modules', result: null },
      { key: 'expert', title: 'Fine-tuned expert', subtitle: 'the expert the router picked', result: null },
      { key: 'static', title: 'Static merge', subtitle: 'shared weights only', result: null },
    ];
    setColumns(cols);
    const set = (key: Column['key'], patch: Partial<Column>) => setColumns((cs) => cs.map((c) => (c.key === key ? { ...c, ...patch } : c)));
    try {
      for await (const step of engine.compare(text, { settings })) {
        if (step.column !== 'expert') set(step.column, { result: step.result });
        else if ('result' in step) set('expert', { subtitle: `${names.get(step.expertId) ?? step.expertId} (${experts.find((e) => e.id === step.expertId)?.format === 'peft' ? 'base + adapter' : 'its own fine-tuned weights'})`, result: step.result });
        else set('expert', { error: step.expertId !== null ? `The bundle does not ship ${names.get(step.expertId) ?? step.expertId}'s full weights.` : 'No expert was routed.' });
      }
    } catch (e) {
      setColumns((cs) => cs.map((c) => (c.result || c.error ? c : { ...c, error: e instanceof Error ? e.message : String(e) })));
    } finally {
      setBusy(false);
      onAnswered?.();
    }
  };

  const reference = columns.find((c) => c.key === 'expert')?.result?.text ?? null;
  return (
    <section className="compare" aria-label="Compare">
      <form
        className="compare-input"
        onSubmit={(e) => {
          e.preventDefault();
          void run();
        }}
      >
        <label htmlFor="compare-prompt">Prompt to compare</label>
        <input id="compare-prompt" value={prompt} onChange={(e) => setPrompt(e.target.value)} placeholder="e.g. What is 23 + 45?" disabled={!ready} />
        <button type="submit" disabled={!ready || busy || !prompt.trim()}>
          {busy ? 'Answering…' : 'Compare'}
        </button>
      </form>
      <div className="compare-grid">
        {columns.map((c) => (
          <article key={c.key} className="compare-col" data-testid={`compare-${c.key}`} aria-label={c.title}>
            <h3>{c.title}</h3>
            <p className="muted">{c.subtitle}</p>
            <div className="compare-answer" data-testid={`compare-${c.key}-answer`}>
              {c.error ? <span className="message-error">{c.error}</span> : c.result ? <Highlighted text={c.result.text} reference={c.key === 'expert' ? null : reference} /> : <span className="typing">…</span>}
            </div>
            {c.result && c.key === 'twin' && <RoutingBars routing={c.result.routing} experts={experts} />}
            {c.result && <TimingsLine t={c.result.timings} />}
          </article>
        ))}
      </div>
      {columns.length === 0 && <p className="muted compare-hint">One prompt, three answers side by side: the per-message merge, the fine-tuned expert it approximates, and the static merge without exclusive modules. Characters that differ from the expert&apos;s answer are highlighted.</p>}
    </section>
  );
}
