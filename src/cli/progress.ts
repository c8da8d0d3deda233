// A progress bar for long CLI steps, on stderr (stdout stays for results). Redraws in place on a
// TTY; in CI logs it prints a line every 10%.
export class Progress {
  private done = 0;
  private lastPct = -1;
  private readonly t0 = Date.now();
  private readonly tty = Boolean(process.stderr.isTTY);

  constructor(
    private readonly label: string,
    private readonly total: number,
  ) {
    this.draw();
  }

  tick(n = 1, detail = ''): void {
    this.done = Math.min(this.total, this.done + n);
    this.draw(detail);
  }

  finish(detail = ''): void {
    this.done = this.total;
    this.draw(detail, true);
  }

  private draw(detail = '', final = false): void {
    const pct = this.total > 0 ? Math.floor((100 * this.done) / this.total) : 100;
    const secs = ((Date.now() - this.t0) / 1000).toFixed(1);
    if (this.tty) {
      const width = 24;
      const fill = Math.round((width * pct) / 100);
      process.stderr.write(`\r${this.label.padEnd(22)} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${String(pct).padStart(3)}% ${this.done}/${this.total} ${secs}s ${detail}`.slice(0, 150).padEnd(150));
      if (final) process.stderr.write('\n');
    } else if ((final && this.lastPct < 100) || (!final && pct >= this.lastPct + 10)) {
      this.lastPct = pct - (pct % 10);
      process.stderr.write(`${this.label}: ${pct}% (${this.done}/${this.total}, ${secs}s)${detail ? ` ${detail}` : ''}\n`);
    }
  }
}
