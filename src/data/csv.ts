// Incremental CSV/TSV record parser (RFC 4180 quoting, cells spanning lines), fed line by line so a
// multi-gigabyte file is never held whole.

export class CsvParser {
  private cells: string[] = [];
  private cell = '';
  private inQuotes = false;
  /** line on which the record being built started */
  startLine = 0;

  constructor(private readonly delim: string) {}

  /** True while a quoted cell is open across lines. */
  get pending(): boolean { return this.inQuotes; }

  /** Feeds one line (without its newline); returns the completed record, or undefined if a quoted cell continues. */
  pushLine(line: string, lineNo: number): string[] | undefined {
    if (!this.inQuotes) { this.startLine = lineNo; this.cells = []; this.cell = ''; }
    else this.cell += '\n';
    const d = this.delim;
    let i = 0;
    const n = line.length;
    while (i < n) {
      if (this.inQuotes) {
        const q = line.indexOf('"', i);
        if (q < 0) { this.cell += line.slice(i); i = n; break; }
        this.cell += line.slice(i, q);
        if (line[q + 1] === '"') { this.cell += '"'; i = q + 2; } else { this.inQuotes = false; i = q + 1; }
      } else {
        const c = line[i];
        if (c === '"' && this.cell === '') { this.inQuotes = true; i++; continue; }
        const next = line.indexOf(d, i);
        const stop = next < 0 ? n : next;
        // a stray quote inside an unquoted cell is kept literally (common in TSV)
        this.cell += line.slice(i, stop);
        if (next < 0) { i = n; break; }
        this.cells.push(this.cell); this.cell = ''; i = next + 1;
        if (i === n) { this.cells.push(''); return this.finish(true); }
      }
    }
    if (this.inQuotes) return undefined;
    return this.finish(false);
  }

  private finish(closed: boolean): string[] {
    if (!closed) this.cells.push(this.cell);
    const out = this.cells;
    this.cells = []; this.cell = '';
    return out;
  }
}
