import type { BackendInfo, MemoryReport } from '../../worker/protocol.ts';
import type { Notice } from '../useEngine.ts';

/** MB with one decimal; KB below 1 MB (a short conversation's KV cache is a few hundred KB on the demo model). */
const size = (n: number) => (n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MB` : `${Math.round(n / 1024)} KB`);

/** One line for the backend the engine runs on. */
function describeBackend(b: BackendInfo): string {
  if (b.kind === 'webgpu') return `WebGPU · ${b.adapterName}${b.isSoftware ? ' (software)' : ''}`;
  return `WASM · ${b.threads} thread${b.threads === 1 ? '' : 's'}`;
}

export function StatusBar({ backend, memory, notice, offline }: { backend: BackendInfo | null; memory: MemoryReport | null; notice: Notice | null; offline: boolean }) {
  const kind = backend?.kind ?? 'probing';
  let detail = '';
  if (backend?.kind === 'wasm') detail = `Running on WASM. ${backend.reason}`;
  else if (backend?.kind === 'webgpu' && backend.isSoftware) detail = 'Software adapter: results are correct but generation is slow.';
  return (
    <footer className="status-bar" role="status" aria-live="polite">
      <span className={`backend-dot backend-${kind}`} aria-hidden="true" />
      <span data-testid="backend" data-backend-kind={kind}>
        {backend ? describeBackend(backend) : 'Looking for a WebGPU adapter…'}
      </span>
      {detail && (
        <span className="status-detail" data-testid="backend-detail">
          {detail}
        </span>
      )}
      {memory && (
        <span className="status-detail" data-testid="memory">
          {backend?.kind === 'webgpu' ? 'GPU memory' : 'Memory'}: shared {size(memory.shared)} · experts {size(memory.experts)} · composed {size(memory.composed)} · KV {size(memory.kvCache)}
        </span>
      )}
      {offline && (
        <span className="status-offline" data-testid="offline">
          Offline — serving from cache
        </span>
      )}
      {notice && (
        <span className={`status-notice notice-${notice.level}`} data-testid="notice">
          {notice.message}
        </span>
      )}
    </footer>
  );
}
