import type { ExpertInfo } from '../../worker/protocol.ts';
import type { ChatMessage } from '../storage.ts';
import { RoutingBars } from './RoutingBars.tsx';
import { TimingsLine } from './TimingsLine.tsx';

export function MessageView({ m, experts }: { m: ChatMessage; experts: ExpertInfo[] }) {
  return (
    <article className={`message message-${m.role}`} data-testid={`message-${m.role}`} data-status={m.status ?? 'done'} aria-label={m.role === 'user' ? 'You' : 'Assistant'}>
      <div className="message-body">
        {m.content || (m.status === 'streaming' ? <span className="typing" aria-label="Generating">…</span> : null)}
        {m.status === 'stopped' && <span className="message-flag"> (stopped)</span>}
      </div>
      {m.status === 'error' && (
        <p className="message-error" role="alert">
          {m.error ?? 'Generation failed.'}
        </p>
      )}
      {m.role === 'assistant' && m.routing && <RoutingBars routing={m.routing} experts={experts} {...(m.routingNames ? { names: m.routingNames } : {})} />}
      {m.role === 'assistant' && m.timings && <TimingsLine t={m.timings} />}
    </article>
  );
}
