// The one progress display for long loops (training, evaluation, data): on a terminal a one-line bar
// with counts, fields (loss, tokens/s...), rate and ETA, redrawn in place at most 10 times a second; when
// stderr is a pipe or a file, JSON lines instead (one per update(), at most one per 2 s for tick()).
export type ProgressMode = 'auto' | 'tty' | 'json' | 'off';

export class Progress {
  private readonly start = Date.now();
  private lastLen = 0;
  private lastDraw = 0;
  private count = 0;
  private fields: Record<string, number | string> = {};
  private readonly mode: Exclude<ProgressMode, 'auto'>;

  /** enabled: false silences it; true or 'auto' draws a bar on a terminal and JSON lines elsewhere. */
  constructor(private readonly label: string, private readonly total: number, enabled: boolean | ProgressMode = 'auto') {
    const m = enabled === true ? 'auto' : enabled === false ? 'off' : enabled;
    this.mode = m === 'auto' ? (process.stderr.isTTY ? 'tty' : 'json') : m;
  }

  /** Reports `done` of total with these fields (every call draws; callers choose how often). */
  update(done: number, fields: Record<string, number | string> = {}): void {
    this.count = done;
    this.fields = fields;
    this.draw(true);
  }

  /** Counts n more items done (drawn at most every 100 ms on a terminal, 2 s in JSON). */
  tick(n = 1): void {
    this.count += n;
    this.draw(false);
    if (this.count >= this.total) this.done();
  }

  done(): void {
    if (this.mode === 'tty' && this.lastLen > 0) process.stderr.write('\n');
    this.lastLen = 0;
  }

  private draw(always: boolean): void {
    if (this.mode === 'off') return;
    const now = Date.now();
    const finished = this.count >= this.total;
    if (!always && !finished && now - this.lastDraw < (this.mode === 'tty' ? 100 : 2000)) return;
    this.lastDraw = now;
    const elapsed = (now - this.start) / 1000;
    const rate = this.count / Math.max(elapsed, 1e-9);
    const eta = rate > 0 ? (this.total - this.count) / rate : Infinity;
    if (this.mode === 'json') {
      process.stderr.write(JSON.stringify({ task: this.label, done: this.count, total: this.total, elapsed_s: round(elapsed), eta_s: round(eta), ...this.fields }) + '\n');
      return;
    }
    const width = 24;
    const filled = Math.min(width, Math.round((width * this.count) / Math.max(1, this.total)));
    const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
    const f = Object.entries(this.fields).map(([k, v]) => `${k} ${typeof v === 'number' ? fmt(v) : v}`).join('  ');
    const line = `${this.label} ${bar} ${this.count}/${this.total}  ${f ? f + '  ' : ''}${fmt(rate)}/s  ETA ${clock(eta)}`;
    process.stderr.write('\r' + line.padEnd(this.lastLen));
    this.lastLen = line.length;
  }
}

const round = (x: number) => (Number.isFinite(x) ? Math.round(x * 10) / 10 : null);
const fmt = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(3) : v.toPrecision(3));

export function clock(s: number): string {
  if (!Number.isFinite(s)) return '--:--';
  const m = Math.floor(s / 60), sec = Math.floor(s % 60);
  return m >= 60 ? `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m` : `${m}:${String(sec).padStart(2, '0')}`;
}
