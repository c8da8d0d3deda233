import { describeBackend } from '../../runtime/backendProbe.ts';
import type { BackendState } from '../useBackend.ts';

export function StatusBar({ backend }: { backend: BackendState }) {
  let text: string;
  let detail = '';
  let kind: string;
  if (backend.status === 'probing') {
    text = 'Looking for a WebGPU adapter…';
    kind = 'probing';
  } else if (backend.status === 'failed') {
    text = 'The engine worker failed to start';
    detail = backend.message;
    kind = 'failed';
  } else {
    text = describeBackend(backend.backend);
    kind = backend.backend.kind;
    if (backend.backend.kind === 'wasm') detail = `WebGPU unavailable — running on WASM. ${backend.backend.reason}`;
    else if (backend.backend.isSoftware) detail = 'Software adapter: results are correct but generation is slow.';
  }
  return (
    <footer className="status-bar" role="status" aria-live="polite">
      <span className={`backend-dot backend-${kind}`} aria-hidden="true" />
      <span data-testid="backend" data-backend-kind={kind}>
        {text}
      </span>
      {detail && <span className="status-detail" data-testid="backend-detail">{detail}</span>}
    </footer>
  );
}
