// Opens another bundle: a URL typed or picked from the ones opened before (and the demo's). Nothing
// but its manifest is read until the user has seen what it costs here; a bundle on another origin
// says so and opens only on an explicit click. The loaded bundle stays until the new one is in.
import { useEffect, useState } from 'react';
import type { BundleCheckInfo, BundleInfo, EngineLoadProgress } from '../../worker/protocol.ts';
import { DEFAULT_BUNDLE_URL, foreignOrigin } from '../bundles.ts';
import { storage, type RecentBundle } from '../storage.ts';
import { BundleSummary, megabytes } from './BundleSummary.tsx';
import { LOAD_STAGES } from './LoadingScreen.tsx';
import { Problem } from './Problem.tsx';

export interface BundlePickerProps {
  currentUrl: string;
  onCheck: (url: string) => Promise<BundleCheckInfo>;
  onOpen: (url: string, onProgress: (p: EngineLoadProgress) => void) => Promise<BundleInfo>;
  onClose: () => void;
}

export function BundlePicker({ currentUrl, onCheck, onOpen, onClose }: BundlePickerProps) {
  const [url, setUrl] = useState('');
  const [recents, setRecents] = useState<RecentBundle[]>([]);
  const [check, setCheck] = useState<BundleCheckInfo | null>(null);
  /** The URL `check` answers for (as typed). */
  const [checkedFor, setCheckedFor] = useState('');
  const [checking, setChecking] = useState(false);
  const [progress, setProgress] = useState<EngineLoadProgress | null>(null);
  const [opening, setOpening] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    void storage.loadRecentBundles().then(setRecents);
  }, []);
  useEffect(() => {
    if (opening) return;
    const close = (e: KeyboardEvent) => e.key === 'Escape' && onClose();
    window.addEventListener('keydown', close);
    return () => window.removeEventListener('keydown', close);
  }, [opening, onClose]);

  const runCheck = async (target: string) => {
    const u = target.trim();
    if (!u) return;
    setUrl(u);
    setCheck(null);
    setError(null);
    setChecking(true);
    try {
      setCheck(await onCheck(u));
      setCheckedFor(u);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setChecking(false);
    }
  };

  const open = async () => {
    if (!check || check.problem) return;
    setOpening(true);
    setError(null);
    try {
      await onOpen(url, setProgress);
      onClose();
    } catch (e) {
      setError(`The bundle could not be opened; the one you had is still loaded. ${e instanceof Error ? e.message : String(e)}`);
      setOpening(false);
      setProgress(null);
    }
  };

  const origin = check ? foreignOrigin(url) : null;
  const choices = [{ url: DEFAULT_BUNDLE_URL, label: 'The demo bundle' }, ...recents.filter((r) => r.url !== DEFAULT_BUNDLE_URL)];
  const frac = progress && progress.totalBytes > 0 ? progress.loadedBytes / progress.totalBytes : 0;

  return (
    <div className="dialog-backdrop">
      <form
        className="dialog bundle-picker"
        role="dialog"
        aria-modal="true"
        aria-labelledby="bundle-picker-title"
        onSubmit={(e) => {
          e.preventDefault();
          if (check && !check.problem && checkedFor === url.trim()) void open();
          else void runCheck(url);
        }}
      >
        <h2 id="bundle-picker-title">Open a bundle</h2>
        <p className="muted">
          Now: <code>{currentUrl}</code>. A bundle is a folder made by <code>twinmerge pack</code> (its manifest.json, weights and experts), on this site or another.
        </p>
        <label>
          Bundle URL
          <input
            value={url}
            placeholder="https://example.org/my-bundle/"
            onChange={(e) => {
              setUrl(e.target.value);
              setCheck(null);
              setError(null);
            }}
            disabled={opening}
            autoFocus
          />
        </label>
        <div className="recent-bundles" aria-label="Recent bundles">
          {choices.map((r) => (
            <button key={r.url} type="button" className="recent-bundle" data-testid="recent-bundle" disabled={opening || checking} onClick={() => void runCheck(r.url)}>
              <span>{r.label}</span>
              <code>{r.url}</code>
            </button>
          ))}
        </div>
        {checking && <p role="status">Reading its manifest…</p>}
        {check && <BundleSummary check={check} />}
        {check && origin && !check.problem && (
          <p className="warning" role="note" data-testid="bundle-origin">
            This bundle is on another site, {origin}: opening it downloads {megabytes(check.loadBytes)} from there. Its files are weights and JSON, checked against its manifest; nothing in it runs as code.
          </p>
        )}
        {error && (
          <div className="dialog-error" role="alert" data-testid="bundle-error">
            <Problem message={error} />
          </div>
        )}
        {opening && (
          <div className="add-progress" role="status" data-testid="bundle-progress">
            <progress max={1} value={frac} aria-label="Opening the bundle" />
            <span>
              {progress ? LOAD_STAGES[progress.stage] : 'Starting'}
              {progress && progress.totalBytes > 0 && progress.stage !== 'experts' ? ` · ${megabytes(progress.loadedBytes)} of ${megabytes(progress.totalBytes)}` : ''}
            </span>
          </div>
        )}
        <div className="dialog-actions">
          <button type="button" onClick={onClose} disabled={opening}>
            Cancel
          </button>
          {check && !check.problem && checkedFor === url.trim() ? (
            <button type="submit" className="primary" disabled={opening}>
              {opening ? 'Opening…' : origin ? `Open from ${origin}` : 'Open'}
            </button>
          ) : (
            <button type="submit" className="primary" disabled={checking || opening || !url.trim()}>
              Check
            </button>
          )}
        </div>
      </form>
    </div>
  );
}
