// A resumable request cache: one JSONL file of {key, value} lines per model. Every answered request is
// appended at once, so an interrupted run resumes where it stopped; a torn last line is ignored.
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';

export class RequestCache {
  private map = new Map<string, unknown>();
  hits = 0;
  misses = 0;

  constructor(readonly file: string | null) {
    if (!file) return;
    mkdirSync(path.dirname(file), { recursive: true });
    if (!existsSync(file)) return;
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (!line) continue;
      try {
        const { k, v } = JSON.parse(line) as { k: string; v: unknown };
        this.map.set(k, v);
      } catch { /* a line cut by an interruption */ }
    }
  }

  static key(modelId: string, request: unknown): string {
    return createHash('sha256').update(modelId).update('\u0000').update(JSON.stringify(request)).digest('hex');
  }

  get<T>(key: string): T | undefined {
    const v = this.map.get(key) as T | undefined;
    if (v === undefined) this.misses++; else this.hits++;
    return v;
  }

  set(key: string, value: unknown): void {
    this.map.set(key, value);
    if (this.file) appendFileSync(this.file, JSON.stringify({ k: key, v: value }) + '\n');
  }

  get size(): number { return this.map.size; }
}
