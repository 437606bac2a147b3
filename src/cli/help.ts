// `--help` text, generated from a command's option table so that it cannot drift from what is parsed.
import type { CommandSpec, OptionSpec, OptionTable } from './args.js';


/** The word after a flag in help and errors: --model DIR, --format hf|gguf|both. */
export function placeholderOf(o: OptionSpec): string {
  if (o.placeholder) return o.placeholder;
  if (o.type === 'string' && o.choices) return o.choices.join('|');
  if (o.type === 'number') return o.integer ? 'N' : 'X';
  return o.type === 'numbers' ? 'N,N,...' : o.type === 'boolean' ? '' : 'VALUE';
}

function flagColumn(k: string, o: OptionSpec): string {
  if (o.type === 'boolean') return `--${k}`;
  return `--${k} ${placeholderOf(o)}${o.type === 'strings' ? ' ...' : ''}`;
}

function describe(o: OptionSpec): string {
  const bits = [o.description];
  if (o.type !== 'boolean' && o.type !== 'strings') {
    if (o.required) bits.push('(required)');
    else if (o.default !== undefined) bits.push(`(default: ${Array.isArray(o.default) ? o.default.join(',') : String(o.default)})`);
  }
  if (o.type === 'strings') bits.push('(may be repeated)');
  return bits.filter(Boolean).join(' ');
}

/** Two columns; the left one as wide as its longest entry (up to 30), longer entries on a line of their own. */
function columns(rows: Array<[string, string]>, all = rows): string[] {
  const width = Math.min(30, Math.max(...all.map(([l]) => l.length)) + 4);
  return rows.map(([l, r]) => (l.length <= width - 4 ? `  ${l.padEnd(width - 2)}${r}` : `  ${l}\n${' '.repeat(width)}${r}`));
}

export function usageLine<T extends OptionTable>(name: string, spec: Pick<CommandSpec<T>, 'options' | 'positionals'>): string {
  const parts = [name];
  const visible = Object.entries(spec.options).filter(([, o]) => !o.hidden);
  for (const [k, o] of visible) if (o.type !== 'boolean' && o.type !== 'strings' && o.required) parts.push(flagColumn(k, o));
  if (visible.some(([, o]) => !(o.type !== 'boolean' && o.type !== 'strings' && o.required))) parts.push('[options]');
  const p = spec.positionals;
  if (p?.usage) parts.push(p.usage);
  else if (p) {
    const many = (p.max ?? Infinity) > 1;
    const word = many ? `${p.name} ...` : p.name;
    parts.push((p.min ?? 0) > 0 ? word : `[${word}]`);
  }
  return parts.join(' ');
}

export function formatHelp<T extends OptionTable>(name: string, spec: CommandSpec<T>): string {
  const lines = [`${name}: ${spec.summary}`, '', `usage: ${usageLine(name, spec)}`];
  const rows: Array<[string, string]> = Object.entries(spec.options).filter(([, o]) => !o.hidden).map(([k, o]) => [flagColumn(k, o), describe(o)]);
  rows.push(['-h, --help', 'show this help']);
  const args: Array<[string, string]> = spec.positionals?.description ? [[spec.positionals.name, spec.positionals.description]] : [];
  if (args.length) lines.push('', 'arguments:', ...columns(args, [...args, ...rows]));
  lines.push('', 'options:', ...columns(rows, [...args, ...rows]));
  if (spec.notes) lines.push('', spec.notes);
  return lines.join('\n');
}

export function formatGroupHelp(name: string, summary: string, subs: Array<[string, string]>, notes?: string): string {
  const root = name === 'hcx';
  const lines = [root ? summary : `${name}: ${summary}`, '', `usage: ${name} <${root ? 'command' : 'subcommand'}> [options]`, '', root ? 'commands:' : 'subcommands:'];
  lines.push(...columns(subs));
  lines.push('', `${name} <${root ? 'command' : 'subcommand'}> --help shows its options.`);
  if (notes) lines.push('', notes);
  return lines.join('\n');
}
