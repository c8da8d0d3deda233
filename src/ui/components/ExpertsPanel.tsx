import { useEffect, useRef, useState, type RefObject } from 'react';
import type { DroppedFile, ExpertInfo, InspectedExpert } from '../../worker/protocol.ts';
import type { EngineClient } from '../engineClient.ts';
import type { AddExpertInput } from '../useEngine.ts';
import { AddExpertDialog } from './AddExpertDialog.tsx';

const kb = (n: number) => (n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MB` : `${(n / 1024).toFixed(0)} KB`);

interface Props {
  experts: ExpertInfo[];
  ready: boolean;
  client: RefObject<EngineClient | null>;
  onAdd: (input: AddExpertInput) => Promise<{ trainMs: number }>;
  onRemove: (id: string) => Promise<void>;
  onToggle: (id: string, enabled: boolean) => Promise<void>;
}

async function readFiles(list: FileList | File[]): Promise<DroppedFile[]> {
  return Promise.all(Array.from(list, async (f) => ({ name: f.name, bytes: new Uint8Array(await f.arrayBuffer()) })));
}

export function ExpertsPanel({ experts, ready, client, onAdd, onRemove, onToggle }: Props) {
  const [dragging, setDragging] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState<{ files: DroppedFile[]; inspected: InspectedExpert } | null>(null);
  const [info, setInfo] = useState<string | null>(null);
  const picker = useRef<HTMLInputElement>(null);
  const errorRef = useRef<HTMLDivElement>(null);
  // The panel scrolls: bring a new error into view where the user dropped the files.
  useEffect(() => {
    if (error) errorRef.current?.scrollIntoView({ block: 'nearest' });
  }, [error]);

  const accept = async (list: FileList | File[]) => {
    setError(null);
    setInfo(null);
    const engine = client.current;
    if (!engine || !ready) return;
    const files = await readFiles(list);
    try {
      setPending({ files, inspected: await engine.inspect(files) });
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };

  return (
    <aside className="experts" aria-label="Experts">
      <h2>Experts</h2>
      <ul className="expert-list" aria-label="Loaded experts">
        {experts.map((e) => (
          <li key={e.id} className={`expert ${e.enabled ? '' : 'disabled'}`} data-testid="expert" data-expert={e.id}>
            <div className="expert-head">
              <label className="switch">
                <input type="checkbox" checked={e.enabled} disabled={!ready} onChange={(ev) => void onToggle(e.id, ev.target.checked)} aria-label={`Use ${e.name}`} />
                <span className="expert-name">{e.name}</span>
              </label>
              {e.origin === 'custom' && (
                <button type="button" className="remove" aria-label={`Remove ${e.name}`} onClick={() => void onRemove(e.id)}>
                  Remove
                </button>
              )}
            </div>
            {e.description && <p className="expert-desc">{e.description}</p>}
            <p className="expert-meta muted">
              rank {e.rank} · {kb(e.bytes)} · {e.origin === 'bundle' ? 'bundle' : e.format === 'peft' ? 'your PEFT adapter' : 'your expert file'}
            </p>
          </li>
        ))}
      </ul>
      <div
        className={`drop-zone ${dragging ? 'dragging' : ''}`}
        data-testid="drop-zone"
        aria-disabled={!ready}
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={(e) => {
          e.preventDefault();
          setDragging(false);
          void accept(e.dataTransfer.files);
        }}
      >
        <strong>Add your own expert</strong>
        <span>Drop a twinmerge expert file (.safetensors) or a PEFT LoRA adapter (adapter_config.json + adapter_model.safetensors), optionally with an examples.json of prompts.</span>
        <button type="button" disabled={!ready} onClick={() => picker.current?.click()}>
          Choose files…
        </button>
        <input
          ref={picker}
          type="file"
          multiple
          accept=".safetensors,.json,.txt"
          className="visually-hidden"
          aria-label="Expert files"
          data-testid="expert-file-input"
          onChange={(e) => {
            if (e.target.files?.length) void accept(e.target.files);
            e.target.value = '';
          }}
        />
      </div>
      {error && (
        <div className="drop-error" role="alert" data-testid="drop-error" ref={errorRef}>
          <strong>Not added:</strong> {error}
        </div>
      )}
      {info && (
        <p className="drop-info" role="status">
          {info}
        </p>
      )}
      {pending && (
        <AddExpertDialog
          inspected={pending.inspected}
          takenIds={experts.map((e) => e.id)}
          onCancel={() => setPending(null)}
          onConfirm={async (meta) => {
            const { trainMs } = await onAdd({ ...meta, files: pending.files });
            setPending(null);
            setInfo(`Added "${meta.name}"; the router learned it in ${trainMs.toFixed(0)} ms. It is used from the next message on.`);
          }}
        />
      )}
    </aside>
  );
}
