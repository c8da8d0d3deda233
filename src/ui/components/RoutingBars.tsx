import type { ExpertInfo } from '../../worker/protocol.ts';

/**
 * The routing weights of one message as a small horizontal bar chart, largest first. Names: the
 * ones recorded with the message (`names`), else the current experts'; an id only as a last resort.
 */
export function RoutingBars({ routing, experts, names: recorded = {} }: { routing: Record<string, number>; experts: ExpertInfo[]; names?: Record<string, string> }) {
  const names = new Map([...experts.map((e) => [e.id, e.name] as const), ...Object.entries(recorded)]);
  const rows = Object.entries(routing).sort((a, b) => b[1] - a[1]);
  if (rows.length === 0) return null;
  return (
    <figure className="routing" aria-label="Routing weights">
      <figcaption>Routing</figcaption>
      <ul>
        {rows.map(([id, w]) => (
          <li key={id} data-testid="routing-row" data-expert={id} data-weight={w.toFixed(4)}>
            <span className="routing-name">{names.get(id) ?? id}</span>
            <span className="routing-track" aria-hidden="true">
              <span className="routing-fill" style={{ width: `${Math.max(0, Math.min(1, w)) * 100}%` }} />
            </span>
            <span className="routing-value">{(w * 100).toFixed(1)}%</span>
          </li>
        ))}
      </ul>
    </figure>
  );
}
