// Progress reporting for long loops: a one-line bar with rate and ETA on a terminal, JSON lines
// (one per report) when stderr is a pipe or a file.
export class Progress {
  private readonly start = Date.now();
  private lastLen = 0;
  constructor(private readonly label: string, private readonly total: number, private readonly tty = !!process.stderr.isTTY) {}

  update(done: number, fields: Record<string, number | string>): void {
    const elapsed = (Date.now() - this.start) / 1000;
    const rate = done / Math.max(elapsed, 1e-9);
    const eta = rate > 0 ? (this.total - done) / rate : Infinity;
    if (!this.tty) {
      process.stderr.write(JSON.stringify({ task: this.label, done, total: this.total, elapsed_s: round(elapsed), eta_s: round(eta), ...fields }) + '\n');
      return;
    }
    const width = 24;
    const filled = Math.round((width * done) / Math.max(1, this.total));
    const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
    const f = Object.entries(fields).map(([k, v]) => `${k} ${typeof v === 'number' ? fmt(v) : v}`).join('  ');
    const line = `${this.label} ${bar} ${done}/${this.total}  ${f}  ETA ${clock(eta)}`;
    process.stderr.write('\r' + line.padEnd(this.lastLen));
    this.lastLen = line.length;
  }

  done(): void {
    if (this.tty) process.stderr.write('\n');
  }
}

const round = (x: number) => (Number.isFinite(x) ? Math.round(x * 10) / 10 : null);
const fmt = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(3) : v.toPrecision(3));

export function clock(s: number): string {
  if (!Number.isFinite(s)) return '--:--';
  const m = Math.floor(s / 60), sec = Math.floor(s % 60);
  return m >= 60 ? `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m` : `${m}:${String(sec).padStart(2, '0')}`;
}
