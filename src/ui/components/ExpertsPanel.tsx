import { useEffect, useRef, useState, type DragEvent, type RefObject } from 'react';
import type { AddProgress, DroppedFile, ExpertInfo, InspectedExpert } from '../../worker/protocol.ts';
import type { TwinmergeEngine } from '../../api/engine.ts';
import { storage, type StoredExpert } from '../storage.ts';
import type { AddExpertInput, AddExpertResult } from '../useEngine.ts';
import { AddExpertDialog } from './AddExpertDialog.tsx';
import { Problem } from './Problem.tsx';
import { UndoToast } from './UndoToast.tsx';

const kb = (n: number) => (n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MB` : `${(n / 1024).toFixed(0)} KB`);

interface Props {
  experts: ExpertInfo[];
  ready: boolean;
  client: RefObject<TwinmergeEngine | null>;
  onAdd: (input: AddExpertInput, onProgress?: (p: AddProgress) => void) => Promise<AddExpertResult>;
  onRemove: (id: string) => Promise<void>;
  onToggle: (id: string, enabled: boolean) => Promise<void>;
  /** Phone width: the panel is a drawer, shown while open. */
  open?: boolean;
  onClose?: () => void;
}

/** Only these files can matter to an expert; the others travel by name only (so a folder's big data files are never read). */
const READ = /\.(safetensors|json|txt)$/i;
const MAX_TEXT_BYTES = 16 << 20;

async function readFiles(list: readonly File[]): Promise<DroppedFile[]> {
  return Promise.all(
    list.map(async (f) => ({
      name: f.name,
      bytes: READ.test(f.name) && (/\.safetensors$/i.test(f.name) || f.size <= MAX_TEXT_BYTES) ? new Uint8Array(await f.arrayBuffer()) : new Uint8Array(0),
    })),
  );
}

const entryFile = (e: FileSystemFileEntry) => new Promise<File>((resolve, reject) => e.file(resolve, reject));

function dirEntries(dir: FileSystemDirectoryEntry): Promise<FileSystemEntry[]> {
  const reader = dir.createReader();
  const all: FileSystemEntry[] = [];
  return new Promise((resolve, reject) => {
    // readEntries hands out a batch at a time (100 in Chromium) until it returns none.
    const next = () =>
      reader.readEntries((batch) => {
        if (batch.length === 0) resolve(all);
        else {
          all.push(...batch);
          next();
        }
      }, reject);
    next();
  });
}

/**
 * The files of a drop. A dropped folder (DataTransferItem.webkitGetAsEntry) contributes the files
 * directly in it; its subfolders (a PEFT run's checkpoint-* folders hold adapters of their own) are
 * not read, and are named so the user knows. The entries must be taken before the first await: the
 * browser empties the DataTransfer when the drop handler returns.
 */
function dropContents(dt: DataTransfer): () => Promise<{ files: File[]; skippedFolders: string[] }> {
  const items = Array.from(dt.items ?? []).filter((i) => i.kind === 'file');
  const taken = items.map((i) => ({ entry: typeof i.webkitGetAsEntry === 'function' ? i.webkitGetAsEntry() : null, file: i.getAsFile() }));
  const plain = Array.from(dt.files);
  return async () => {
    if (!taken.some((t) => t.entry?.isDirectory)) return { files: plain, skippedFolders: [] };
    const files: File[] = [];
    const skippedFolders: string[] = [];
    for (const { entry, file } of taken) {
      if (entry?.isDirectory) {
        for (const child of await dirEntries(entry as FileSystemDirectoryEntry)) {
          if (child.isFile) files.push(await entryFile(child as FileSystemFileEntry));
          else if (child.isDirectory) skippedFolders.push(`${entry.name}/${child.name}`);
        }
      } else if (entry?.isFile) files.push(await entryFile(entry as FileSystemFileEntry));
      else if (file) files.push(file);
    }
    return { files, skippedFolders };
  };
}

/** Files dropped later replace earlier ones of the same name. */
function merge(before: readonly DroppedFile[], after: readonly DroppedFile[]): DroppedFile[] {
  const names = new Set(after.map((f) => f.name));
  return [...before.filter((f) => !names.has(f.name)), ...after];
}

interface Pending {
  files: DroppedFile[];
  inspected: InspectedExpert;
  /** Bumped on each inspection: the dialog starts over with the new suggestions. */
  version: number;
}

export function ExpertsPanel({ experts, ready, client, onAdd, onRemove, onToggle, open = false, onClose }: Props) {
  const [dragging, setDragging] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState<Pending | null>(null);
  const [info, setInfo] = useState<string | null>(null);
  const [removed, setRemoved] = useState<{ key: number; name: string; stored: StoredExpert } | null>(null);
  const [restoring, setRestoring] = useState<string | null>(null);
  const picker = useRef<HTMLInputElement>(null);
  const errorRef = useRef<HTMLDivElement>(null);
  // The panel scrolls: bring a new error into view where the user dropped the files.
  useEffect(() => {
    if (error) errorRef.current?.scrollIntoView({ block: 'nearest' });
  }, [error]);

  /** Inspects the dropped files; while the add dialog is open they join the files already there (e.g. an examples file after the folder). */
  const accept = async (read: () => Promise<{ files: File[]; skippedFolders: string[] }>) => {
    setError(null);
    setInfo(null);
    const engine = client.current;
    if (!engine || !ready) {
      setInfo('The model is still loading: add your expert once it is ready.');
      return;
    }
    try {
      const { files: list, skippedFolders } = await read();
      const dropped = await readFiles(list);
      const files = pending ? merge(pending.files, dropped) : dropped;
      const inspected = await engine.experts.inspect(files);
      const notes = [...inspected.warnings];
      if (skippedFolders.length) notes.push(`Subfolders are not read: ${skippedFolders.join(', ')}.`);
      if (inspected.examplePrompts.length === 0) notes.push('No example prompts came with the files: type them below, or drop an examples .json (a list of prompts) here.');
      setPending({ files, inspected: { ...inspected, warnings: notes }, version: (pending?.version ?? 0) + 1 });
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };

  const remove = async (e: ExpertInfo) => {
    setError(null);
    setInfo(null);
    // Kept so that Undo can add it again from the same files.
    const stored = (await storage.loadExperts()).find((s) => s.id === e.id);
    try {
      await onRemove(e.id);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
      return;
    }
    if (stored) setRemoved({ key: Date.now(), name: e.name, stored });
  };

  const undoRemove = async () => {
    const r = removed;
    setRemoved(null);
    if (!r) return;
    const s = r.stored;
    setRestoring(s.name);
    try {
      await onAdd({ id: s.id, name: s.name, description: s.description, examplePrompts: s.examplePrompts, files: s.files });
      if (!s.enabled) await onToggle(s.id, false);
      setInfo(`"${s.name}" is back.`);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setRestoring(null);
    }
  };

  const dragOver = (e: DragEvent) => {
    e.preventDefault();
    setDragging(true);
  };
  const drop = (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    void accept(dropContents(e.dataTransfer));
  };

  return (
    // While the add dialog is open, files dropped anywhere on it join the files being added.
    <aside id="experts-panel" className={`experts${open ? ' open' : ''}`} aria-label="Experts" onDragOver={pending ? dragOver : undefined} onDrop={pending ? drop : undefined}>
      <div className="experts-head">
        <h2>Experts</h2>
        {onClose && (
          <button type="button" className="drawer-close" onClick={onClose} aria-label="Close the experts panel">
            ×
          </button>
        )}
      </div>
      <ul className="expert-list" aria-label="Loaded experts">
        {experts.map((e) => (
          <li key={e.id} className={`expert ${e.enabled ? '' : 'disabled'}`} data-testid="expert" data-expert={e.id}>
            <div className="expert-head">
              <label className="switch">
                <input type="checkbox" checked={e.enabled} disabled={!ready} onChange={(ev) => void onToggle(e.id, ev.target.checked)} aria-label={`Use ${e.name}`} />
                <span className="expert-name">{e.name}</span>
              </label>
              {e.origin === 'custom' && (
                <button type="button" className="remove" aria-label={`Remove ${e.name}`} disabled={!ready} onClick={() => void remove(e)}>
                  Remove
                </button>
              )}
            </div>
            {e.description && <p className="expert-desc">{e.description}</p>}
            <p className="expert-meta muted">
              rank {e.rank} · {kb(e.bytes)} · {e.origin === 'bundle' ? 'bundle' : e.format === 'peft' ? 'your PEFT adapter' : e.format === 'checkpoint' ? 'extracted from your checkpoint' : 'your expert file'}
            </p>
          </li>
        ))}
      </ul>
      {removed && (
        <UndoToast
          key={removed.key}
          message={`Removed "${removed.name}".`}
          onUndo={() => void undoRemove()}
          onExpire={() => setRemoved((r) => (r?.key === removed.key ? null : r))}
        />
      )}
      {restoring && (
        <p className="drop-info" role="status">
          Putting &quot;{restoring}&quot; back (the router learns it again)…
        </p>
      )}
      <div
        className={`drop-zone ${dragging ? 'dragging' : ''}`}
        data-testid="drop-zone"
        aria-disabled={!ready}
        onDragOver={dragOver}
        onDragLeave={() => setDragging(false)}
        onDrop={(e) => {
          e.stopPropagation();
          drop(e);
        }}
      >
        <strong>Add your own expert</strong>
        <span>
          Drop a twinmerge expert file (.safetensors), a PEFT LoRA adapter folder, or a fully fine-tuned checkpoint folder (config.json + model.safetensors: its module is extracted here), optionally with an examples.json of prompts. Other files are set aside.
        </span>
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
            const list = Array.from(e.target.files ?? []);
            e.target.value = '';
            if (list.length) void accept(async () => ({ files: list, skippedFolders: [] }));
          }}
        />
      </div>
      {error && (
        // Over the add dialog when it is open (files dropped onto it), else in the panel.
        <div className={`drop-error ${pending ? 'floating' : ''}`} role="alert" data-testid="drop-error" ref={errorRef}>
          <div className="drop-error-head">
            <strong>Not added:</strong>
            <button type="button" className="dismiss" aria-label="Dismiss error" onClick={() => setError(null)}>
              ×
            </button>
          </div>
          <Problem message={error} />
        </div>
      )}
      {info && (
        <p className="drop-info" role="status" data-testid="add-info" ref={(el) => el?.scrollIntoView({ block: 'nearest' })}>
          {info}
        </p>
      )}
      {pending && (
        <AddExpertDialog
          key={pending.version}
          inspected={pending.inspected}
          takenIds={experts.map((e) => e.id)}
          onCancel={() => {
            setPending(null);
            setError(null);
          }}
          onConfirm={async (meta, onProgress) => {
            const r = await onAdd({ ...meta, files: pending.files }, onProgress);
            setPending(null);
            setError(null);
            const extracted = r.extractMs > 0 ? `its exclusive module extracted in ${(r.extractMs / 1000).toFixed(1)} s, ` : '';
            setInfo(`Added "${meta.name}" in ${(r.totalMs / 1000).toFixed(1)} s (${extracted}${meta.examplePrompts.length} example prompts through the model, then the router learned it in ${r.trainMs.toFixed(0)} ms). It is used from the next message on.`);
          }}
        />
      )}
    </aside>
  );
}
