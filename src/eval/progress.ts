// A one-line progress bar on stderr (only when stderr is a terminal, or when forced).
export class Progress {
  private done = 0;
  private last = 0;
  private readonly start = Date.now();
  constructor(private readonly label: string, private readonly total: number, private readonly enabled = process.stderr.isTTY === true) {}
  tick(n = 1): void {
    this.done += n;
    const now = Date.now();
    if (!this.enabled || (now - this.last < 100 && this.done < this.total)) return;
    this.last = now;
    const frac = this.total ? this.done / this.total : 1;
    const width = 30;
    const bar = '#'.repeat(Math.round(frac * width)).padEnd(width, '.');
    const rate = this.done / Math.max(1e-3, (now - this.start) / 1000);
    process.stderr.write(`\r${this.label.padEnd(28).slice(0, 28)} [${bar}] ${this.done}/${this.total} ${rate.toFixed(1)}/s`);
    if (this.done >= this.total) process.stderr.write('\n');
  }
}
