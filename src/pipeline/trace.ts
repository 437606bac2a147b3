// An append-only trace of work that finished computing (HCX_PIPELINE_TRACE=FILE), one short line per
// event, so fault tests can count how often a stage or an evaluation ran to completion.
import { appendFileSync } from 'node:fs';

export function trace(what: string, id: string): void {
  const f = process.env.HCX_PIPELINE_TRACE;
  if (f) appendFileSync(f, `${what} ${id} ${process.pid}\n`);
}
