import type { Timings } from '../../worker/protocol.ts';

const ms = (v: number) => (v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(0)} ms`);

export function TimingsLine({ t }: { t: Timings }) {
  return (
    <p className="timings" data-testid="timings">
      route {ms(t.routeMs)} · compose {ms(t.composeMs)} · first token {ms(t.firstTokenMs)} · {t.tokensPerSecond.toFixed(1)} tok/s · {t.generatedTokens} tokens
    </p>
  );
}
