import { useState } from 'react';
import type { AddProgress, InspectedExpert } from '../../worker/protocol.ts';
import { Problem } from './Problem.tsx';

interface Meta {
  id: string;
  name: string;
  description: string;
  examplePrompts: string[];
}

interface Props {
  inspected: InspectedExpert;
  takenIds: string[];
  onCancel: () => void;
  /** Adds the expert; `onProgress` sees a checkpoint's module extracted, then the example prompts run through the model. */
  onConfirm: (m: Meta, onProgress: (p: AddProgress) => void) => Promise<void>;
}

const FORMAT_LABEL: Record<InspectedExpert['format'], string> = {
  twinmerge: 'twinmerge expert',
  peft: 'PEFT LoRA adapter',
  checkpoint: 'Fully fine-tuned checkpoint',
};

/** What adding is doing now, in words. */
function progressText(p: AddProgress): string {
  if (p.stage === 'extract') {
    const left = p.done < p.total && p.etaMs >= 1000 ? `, about ${Math.round(p.etaMs / 1000)} s left` : '';
    return `Extracting the exclusive module: weight ${p.done} of ${p.total} (${p.tensor})${left}…`;
  }
  return p.done < p.total ? `Running example prompt ${p.done + 1} of ${p.total} through the model…` : 'Teaching the router…';
}

const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 64) || 'expert';

export function AddExpertDialog({ inspected, takenIds, onCancel, onConfirm }: Props) {
  const [name, setName] = useState(inspected.name);
  const [description, setDescription] = useState(inspected.description);
  const [prompts, setPrompts] = useState(inspected.examplePrompts.join('\n'));
  const [busy, setBusy] = useState(false);
  const [progress, setProgress] = useState<AddProgress | null>(null);
  const [error, setError] = useState<string | null>(null);
  const list = prompts.split('\n').map((p) => p.trim()).filter(Boolean);
  const id = slug(name);
  const problem = !name.trim() ? 'Give the expert a name.' : takenIds.includes(id) ? `An expert called "${id}" exists already.` : list.length < 4 ? 'Give at least 4 example prompts (one per line) so the router can learn the task.' : null;

  return (
    <div className="dialog-backdrop">
      <form
        className="dialog"
        role="dialog"
        aria-modal="true"
        aria-labelledby="add-expert-title"
        onSubmit={async (e) => {
          e.preventDefault();
          if (problem) return;
          setBusy(true);
          setError(null);
          try {
            await onConfirm({ id, name: name.trim(), description: description.trim(), examplePrompts: list }, setProgress);
          } catch (err) {
            setError(err instanceof Error ? err.message : String(err));
            setBusy(false);
          }
        }}
      >
        <h2 id="add-expert-title">Add expert</h2>
        <p className="muted">
          {FORMAT_LABEL[inspected.format]} · rank {inspected.rank} · {inspected.tensors} weights · checked against this model&apos;s shapes.
        </p>
        {inspected.warnings.map((w) => (
          <p key={w} className="warning" role="note">
            {w}
          </p>
        ))}
        <label>
          Name
          <input value={name} onChange={(e) => setName(e.target.value)} autoFocus />
        </label>
        <label>
          Description
          <input value={description} onChange={(e) => setDescription(e.target.value)} />
        </label>
        <label>
          Example prompts (one per line; the router learns the task from them)
          <textarea rows={6} value={prompts} onChange={(e) => setPrompts(e.target.value)} />
        </label>
        {(problem || error) && (
          <div className="dialog-error" role="alert">
            {error ? <Problem message={error} /> : problem}
          </div>
        )}
        {busy && progress && (
          <div className="add-progress" role="status" data-testid="add-progress" data-stage={progress.stage}>
            <progress max={progress.total} value={progress.done} aria-label="Adding the expert" />
            <span>{progressText(progress)}</span>
          </div>
        )}
        <div className="dialog-actions">
          <button type="button" onClick={onCancel} disabled={busy}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={busy || problem !== null}>
            {busy ? 'Adding…' : 'Add expert'}
          </button>
        </div>
      </form>
    </div>
  );
}
