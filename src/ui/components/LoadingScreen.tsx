import type { EngineLoadProgress } from '../../worker/protocol.ts';

const STAGES: Record<EngineLoadProgress['stage'], string> = {
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

export function LoadingScreen({ progress, failed }: { progress: EngineLoadProgress | null; failed?: string }) {
  if (failed) {
    return (
      <div className="loading" role="alert">
        <h2>The model could not be loaded</h2>
        <p className="load-error" data-testid="load-error">
          {failed}
        </p>
        <button type="button" onClick={() => window.location.reload()}>
          Try again
        </button>
      </div>
    );
  }
  const frac = progress && progress.totalBytes > 0 ? progress.loadedBytes / progress.totalBytes : 0;
  return (
    <div className="loading" data-testid="loading">
      <h2>{progress ? STAGES[progress.stage] : 'Starting the engine'}…</h2>
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
