// What a bundle would cost on this device, from its manifest alone: the model, the bytes a load
// downloads, the memory a session holds (the worker's own estimate, src/runtime/bundlePlan.ts), and
// why it does not fit when it does not. Shown before anything else of the bundle is downloaded.
import type { BundleCheckInfo } from '../../worker/protocol.ts';
import { foreignOrigin } from '../bundles.ts';

export const megabytes = (n: number) => (n >= 1e9 ? `${(n / 1e9).toFixed(2)} GB` : `${(n / 1e6).toFixed(1)} MB`);

export function BundleSummary({ check }: { check: BundleCheckInfo }) {
  const m = check.memory;
  const total = m.shared + m.experts + m.composed + m.routerCopy;
  const origin = foreignOrigin(check.url);
  // Composed weights are f16 on GPUs with shader-f16: the worker's estimate says which.
  const composedScale = m.composed / Math.max(1, check.model.parameters * 4);
  const where = check.backend.kind === 'webgpu' ? `this GPU (${check.backend.adapterName})` : 'WebAssembly (CPU)';
  return (
    <div className="bundle-summary" data-testid="bundle-summary" data-fits={check.problem ? 'false' : 'true'}>
      <p>
        <strong>
          {check.model.type} · {(check.model.parameters / 1e6).toFixed(1)} M parameters · {check.model.layers} layers
        </strong>{' '}
        · {check.experts} experts · made by {check.createdBy}
      </p>
      <p data-testid="bundle-download">
        Downloads {megabytes(check.loadBytes)}
        {check.totalBytes > check.loadBytes ? ` now (${megabytes(check.totalBytes)} in all; the rest only when used)` : ''}
        {origin ? ` from ${origin}` : ''}.
      </p>
      <p data-testid="bundle-memory">
        Memory on {where}: about {megabytes(total)} (shared weights {megabytes(m.shared)}, experts {megabytes(m.experts)}, composed {megabytes(m.composed)}
        {m.routerCopy ? `, the routing pass's own copy ${megabytes(m.routerCopy)}` : ''}) plus {(m.kvPerToken / 1024).toFixed(1)} KB of KV cache per token.
        {check.deviceBufferLimit !== null && ` Largest weight ${check.largestWeight.name}: ${megabytes(check.largestWeight.bytes * composedScale)}; this GPU allows ${megabytes(check.deviceBufferLimit)} per buffer.`}
      </p>
      {check.problem && (
        <p className="dialog-error" role="alert" data-testid="bundle-problem">
          {check.problem}
        </p>
      )}
    </div>
  );
}
