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
      {m.role === 'assistant' && m.confidence && !m.confidence.confident && (
        <p className="message-note low-confidence" role="note" data-testid="low-confidence" data-reason={m.confidence.reason}>
          {m.confidence.reason === 'far'
            ? 'No expert is confident about this message: it is unlike the examples of every expert, so this answer is likely wrong. Try one of the experts\' example prompts.'
            : 'No enabled expert is confident about this message (the expert it needs may be switched off), so this answer may be wrong.'}
        </p>
      )}
      {m.role === 'assistant' && !!m.droppedTurns && (
        <p className="message-note" role="note" data-testid="dropped-turns">
          The model did not see the {m.droppedTurns} oldest messages of this chat: they no longer fit its context.
        </p>
      )}
      {m.role === 'assistant' && m.routing && <RoutingBars routing={m.routing} experts={experts} {...(m.routingNames ? { names: m.routingNames } : {})} />}
      {m.role === 'assistant' && m.timings && <TimingsLine t={m.timings} />}
    </article>
  );
}
