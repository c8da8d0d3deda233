import type { BundleCheckInfo, EngineLoadProgress } from '../../worker/protocol.ts';
import { DEFAULT_BUNDLE_URL } from '../bundles.ts';
import { BundleSummary, megabytes } from './BundleSummary.tsx';
import { Problem } from './Problem.tsx';

export const LOAD_STAGES: Record<EngineLoadProgress['stage'], string> = {
  manifest: 'Reading the bundle manifest',
  download: 'Downloading weights',
  verify: 'Checking files',
  done: 'Preparing the model',
  upload: 'Uploading weights to the GPU',
  session: 'Compiling the model',
  tokenizer: 'Loading the tokenizer',
  warmup: 'Warming up (compiling the GPU kernels the first message needs)',
  experts: 'Restoring your experts',
};

const mb = (n: number) => `${(n / (1 << 20)).toFixed(1)} MB`;

/** A bundle on another site named in the address: loaded only once the user has seen where it is and what it costs. */
export interface ForeignBundle {
  url: string;
  origin: string;
  check: BundleCheckInfo | null;
  error: string | null;
  onConfirm: () => void;
}

function ConfirmForeign({ b }: { b: ForeignBundle }) {
  return (
    <div className="loading" data-testid="confirm-bundle">
      <h2>Open a bundle from {b.origin}?</h2>
      <p>
        This page was opened with <code>{b.url}</code>, a bundle on another site. Its files are weights and JSON, checked against its manifest; nothing in it runs as code.
      </p>
      {!b.check && !b.error && <p role="status">Reading its manifest…</p>}
      {b.check && <BundleSummary check={b.check} />}
      {b.error && (
        <p className="load-error" role="alert" data-testid="load-error">
          <Problem message={b.error} />
        </p>
      )}
      <div className="dialog-actions">
        <a href={`${window.location.pathname}`} className="button-link">
          Open the demo bundle instead
        </a>
        {b.check && !b.check.problem && (
          <button type="button" className="primary" onClick={b.onConfirm}>
            Download {megabytes(b.check.loadBytes)} from {b.origin}
          </button>
        )}
      </div>
    </div>
  );
}

export function LoadingScreen({ progress, failed, foreign }: { progress: EngineLoadProgress | null; failed?: string; foreign?: ForeignBundle }) {
  if (foreign) return <ConfirmForeign b={foreign} />;
  if (failed) {
    return (
      <div className="loading" role="alert">
        <h2>The model could not be loaded</h2>
        <p className="load-error" data-testid="load-error">
          {failed}
        </p>
        <div className="dialog-actions">
          {new URLSearchParams(window.location.search).get('bundle') && (
            <a href={window.location.pathname} className="button-link">
              Open the demo bundle ({DEFAULT_BUNDLE_URL})
            </a>
          )}
          <button type="button" onClick={() => window.location.reload()}>
            Try again
          </button>
        </div>
      </div>
    );
  }
  const frac = progress && progress.totalBytes > 0 ? progress.loadedBytes / progress.totalBytes : 0;
  return (
    <div className="loading" data-testid="loading">
      <h2>{progress ? LOAD_STAGES[progress.stage] : 'Starting the engine'}…</h2>
      <progress max={1} value={frac} aria-label="Loading progress" />
      <p className="muted">
        {progress && progress.totalBytes > 0
          ? progress.stage === 'experts'
            ? `${progress.loadedBytes} of ${progress.totalBytes}`
            : `${mb(progress.loadedBytes)} of ${mb(progress.totalBytes)}`
          : '\u00a0'}
        {progress?.file ? ` · ${progress.file}` : ''}
      </p>
    </div>
  );
}
