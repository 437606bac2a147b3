// A small Prometheus registry (counters, gauges, histograms with optional labels) rendered in the text
// exposition format, plus a sliding-window rate for tokens per second.

type Labels = Record<string, string>;

const labelKey = (l: Labels | undefined): string =>
  l ? Object.keys(l).sort().map((k) => `${k}="${l[k].replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',') : '';

const fmt = (v: number): string => (Number.isFinite(v) ? String(v) : v > 0 ? '+Inf' : v < 0 ? '-Inf' : 'NaN');

interface Metric { name: string; help: string; render(): string[] }

export class Counter implements Metric {
  private readonly values = new Map<string, number>();
  constructor(readonly name: string, readonly help: string) {}
  inc(by = 1, labels?: Labels): void {
    const k = labelKey(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
  get(labels?: Labels): number {
    return this.values.get(labelKey(labels)) ?? 0;
  }
  render(): string[] {
    const out = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    if (this.values.size === 0) out.push(`${this.name} 0`);
    for (const [k, v] of this.values) out.push(`${this.name}${k ? `{${k}}` : ''} ${fmt(v)}`);
    return out;
  }
}

export class Gauge implements Metric {
  constructor(readonly name: string, readonly help: string, private readonly read: () => number) {}
  get(): number {
    return this.read();
  }
  render(): string[] {
    return [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`, `${this.name} ${fmt(this.read())}`];
  }
}

export class Histogram implements Metric {
  private readonly counts: number[];
  private sum = 0;
  private n = 0;
  /** The most recent observations, for quantiles on the web page. */
  private readonly recent: number[] = [];
  constructor(readonly name: string, readonly help: string, readonly buckets: number[]) {
    this.counts = new Array<number>(buckets.length).fill(0);
  }
  observe(v: number): void {
    for (let i = 0; i < this.buckets.length; i++) if (v <= this.buckets[i]) this.counts[i]++;
    this.sum += v;
    this.n++;
    this.recent.push(v);
    if (this.recent.length > 1024) this.recent.shift();
  }
  get count(): number {
    return this.n;
  }
  /** Quantile q of the last 1024 observations (NaN when none). */
  quantile(q: number): number {
    if (this.recent.length === 0) return NaN;
    const s = [...this.recent].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
  }
  render(): string[] {
    const out = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    this.buckets.forEach((b, i) => out.push(`${this.name}_bucket{le="${fmt(b)}"} ${this.counts[i]}`));
    out.push(`${this.name}_bucket{le="+Inf"} ${this.n}`, `${this.name}_sum ${fmt(this.sum)}`, `${this.name}_count ${this.n}`);
    return out;
  }
}

/** Events per second over the last `windowMs`. */
export class RateWindow {
  private readonly events: [number, number][] = [];
  constructor(private readonly windowMs = 10_000, private readonly now: () => number = () => performance.now()) {}
  add(n: number): void {
    const t = this.now();
    this.events.push([t, n]);
    this.trim(t);
  }
  rate(): number {
    const t = this.now();
    this.trim(t);
    if (this.events.length === 0) return 0;
    const span = Math.max(1000, t - this.events[0][0]);
    return (this.events.reduce((a, [, n]) => a + n, 0) * 1000) / Math.min(span, this.windowMs);
  }
  private trim(t: number): void {
    while (this.events.length > 0 && this.events[0][0] < t - this.windowMs) this.events.shift();
  }
}

export class Registry {
  private readonly metrics: Metric[] = [];
  counter(name: string, help: string): Counter {
    return this.add(new Counter(name, help));
  }
  gauge(name: string, help: string, read: () => number): Gauge {
    return this.add(new Gauge(name, help, read));
  }
  histogram(name: string, help: string, buckets: number[]): Histogram {
    return this.add(new Histogram(name, help, buckets));
  }
  private add<T extends Metric>(m: T): T {
    if (this.metrics.some((x) => x.name === m.name)) throw new Error(`metric ${m.name} registered twice`);
    this.metrics.push(m);
    return m;
  }
  render(): string {
    return this.metrics.flatMap((m) => m.render()).join('\n') + '\n';
  }
}

/** Latency buckets in seconds. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
