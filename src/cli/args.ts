// Strict command-line parsing for every hcx command. A command is one option table plus a run function:
//
//   export const command = defineCommand({
//     summary: 'serve a model',
//     options: {
//       model: { type: 'string', placeholder: 'DIR', required: true, description: 'checkpoint or run folder' },
//       port: { type: 'number', integer: true, min: 0, default: 8000, description: 'TCP port' },
//       'api-key': { type: 'string', placeholder: 'KEY', description: 'require this bearer token' },
//       'no-cache': { type: 'boolean', description: 'do not read or write the cache' },
//     },
//     positionals: { name: 'FILE', max: Infinity },        // omitted: no positionals accepted
//     notes: 'free text printed after the options',
//     async run(o, files) { o.model; o.port; o.apiKey; o.noCache },   // typed, camel-cased
//   });
//
// Subcommands are a group of such commands: defineGroup({ summary, subcommands: { build: ..., verify: ... } }),
// each subcommand with its own table (a lazy `() => import(...)` loader is allowed). `--help` is generated
// from the table (names, placeholders, defaults, descriptions). Parsing is util.parseArgs with strict: true,
// after a pass that turns every mistake into an error naming the flag: an unknown flag (with the nearest
// known one), a missing value, a value given to a switch, an empty value, a non-number, a repeated flag.
// `--flag value` and `--flag=value` are the same; a value may start with '-' (`--temperature -1`).
import { parseArgs as nodeParseArgs } from 'node:util';
import { formatGroupHelp, formatHelp, placeholderOf } from './help.js';

interface OptionBase {
  description: string;
  /** shown after the flag in help: --model DIR */
  placeholder?: string;
  /** internal flags (bench worker processes): accepted, not listed in help */
  hidden?: boolean;
}
export interface StringOption extends OptionBase { type: 'string'; default?: string; required?: boolean; choices?: readonly string[]; allowEmpty?: boolean }
/** A string flag that may be given several times: --path a=1 --path b=2 -> ['a=1', 'b=2']. */
export interface StringsOption extends OptionBase { type: 'strings' }
export interface NumberOption extends OptionBase { type: 'number'; default?: number; required?: boolean; integer?: boolean; min?: number; max?: number }
/** A comma-separated list of numbers: --threads 1,2. */
export interface NumbersOption extends OptionBase { type: 'numbers'; default?: readonly number[]; required?: boolean; integer?: boolean; min?: number; max?: number }
export interface BooleanOption extends OptionBase { type: 'boolean' }
export type OptionSpec = StringOption | StringsOption | NumberOption | NumbersOption | BooleanOption;
export type OptionTable = Record<string, OptionSpec>;

export interface PositionalSpec {
  name: string;
  description?: string;
  min?: number;
  /** default: no limit */
  max?: number;
  /** the usage-line form, where the default ("[FILE ...]") says too little */
  usage?: string;
}

type Camel<S extends string> = S extends `${infer H}-${infer T}` ? `${H}${Capitalize<Camel<T>>}` : S;
type Given<O> = O extends { default: unknown } ? true : O extends { required: true } ? true : false;
type Base<O> = O extends { type: 'number' } ? number
  : O extends { type: 'numbers' } ? number[]
  : O extends { choices: readonly (infer C extends string)[] } ? C
  : string;
type ValueOf<O> = O extends { type: 'boolean' } ? boolean : O extends { type: 'strings' } ? string[]
  : Given<O> extends true ? Base<O> : Base<O> | undefined;
/** The parsed values of a table: camel-cased keys, the value types its specs imply. */
export type Values<T extends OptionTable> = { [K in keyof T & string as Camel<K>]: ValueOf<T[K]> };

/** A usage mistake: the dispatcher prints it with a pointer to --help. */
export class CliError extends Error {
  constructor(message: string) { super(message); this.name = 'CliError'; }
}

export interface LeafCommand<T extends OptionTable = OptionTable> {
  kind: 'command';
  summary: string;
  options: T;
  positionals?: PositionalSpec;
  notes?: string;
  parse(argv: string[], name?: string): { values: Values<T>; positionals: string[]; help: boolean };
  help(name: string): string;
  run(argv: string[], name: string): Promise<void>;
}

type Lazy<C> = C | (() => Promise<C>);
export interface GroupCommand {
  kind: 'group';
  summary: string;
  notes?: string;
  subcommands: Record<string, Lazy<Command>>;
  run(argv: string[], name: string): Promise<void>;
  help(name: string): Promise<string>;
}
export type Command = LeafCommand | GroupCommand;

export interface CommandSpec<T extends OptionTable> {
  summary: string;
  options: T;
  positionals?: PositionalSpec;
  notes?: string;
  run(values: Values<T>, positionals: string[]): Promise<void> | void;
}

export function defineCommand<const T extends OptionTable>(spec: CommandSpec<T>): LeafCommand<T> {
  for (const [k, o] of Object.entries(spec.options)) {
    if (!/^[a-z0-9][a-z0-9-]*$/.test(k) || k === 'help') throw new Error(`option table: bad flag name "${k}"`);
    if ('default' in o && 'required' in o && o.required) throw new Error(`option table: --${k} is required and has a default`);
  }
  const cmd: LeafCommand<T> = {
    kind: 'command', summary: spec.summary, options: spec.options, positionals: spec.positionals, notes: spec.notes,
    parse: (argv, name = 'hcx') => parseCommandLine(spec.options, spec.positionals, argv, name),
    help: (name) => formatHelp(name, spec),
    async run(argv, name) {
      const p = cmd.parse(argv, name);
      if (p.help) { console.log(cmd.help(name)); return; }
      await spec.run(p.values, p.positionals);
    },
  };
  return cmd;
}

export async function loadCommand(c: Lazy<Command>): Promise<Command> {
  return typeof c === 'function' ? c() : c;
}

export function defineGroup(spec: { summary: string; notes?: string; subcommands: Record<string, Lazy<Command>> }): GroupCommand {
  const group: GroupCommand = {
    kind: 'group', ...spec,
    async help(name) {
      const rows: Array<[string, string]> = [];
      for (const [k, c] of Object.entries(spec.subcommands)) rows.push([k, (await loadCommand(c)).summary]);
      return formatGroupHelp(name, spec.summary, rows, spec.notes);
    },
    async run(argv, name) {
      const [sub, ...rest] = argv;
      const names = Object.keys(spec.subcommands);
      if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
        if (sub === undefined && name !== 'hcx') throw new CliError(`${name}: choose a subcommand: ${names.join(', ')} (${name} --help)`);
        console.log(await group.help(name));
        return;
      }
      const c = spec.subcommands[sub];
      if (!c || !Object.hasOwn(spec.subcommands, sub)) {
        const near = nearest(sub, names);
        throw new CliError(`${name}: unknown ${name === 'hcx' ? 'command' : 'subcommand'} "${sub}"${near ? ` (did you mean "${near}"?)` : ''}; choose one of: ${names.join(', ')}`);
      }
      const cmd = await loadCommand(c);
      await cmd.run(rest, `${name} ${sub}`);
    },
  };
  return group;
}

/** Every leaf command under a command, with its full name ("hcx data build"). */
export async function leafCommands(c: Command, name: string): Promise<Array<{ name: string; command: LeafCommand }>> {
  if (c.kind === 'command') return [{ name, command: c }];
  const out: Array<{ name: string; command: LeafCommand }> = [];
  for (const [k, sub] of Object.entries(c.subcommands)) out.push(...await leafCommands(await loadCommand(sub), `${name} ${k}`));
  return out;
}

/** Edit distance, for "did you mean": the nearest name within a third of its length (at least 2 edits). */
export function nearest(word: string, names: string[]): string | undefined {
  let best: string | undefined, bestD = Infinity;
  for (const n of names) {
    const d = osaDistance(word.toLowerCase(), n.toLowerCase());
    if (d < bestD) { best = n; bestD = d; }
  }
  const prefix = names.find((n) => n.startsWith(word) || word.startsWith(n));
  if (bestD <= Math.max(2, Math.floor(word.length / 3))) return best;
  return word.length >= 3 ? prefix : undefined;
}

/** Optimal-string-alignment distance: insertions, deletions, substitutions and adjacent swaps each cost one. */
function osaDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 0; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) for (let j = 1; j <= b.length; j++) {
    d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
  }
  return d[a.length][b.length];
}

const camel = (k: string): string => k.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());

function parseCommandLine<T extends OptionTable>(table: T, pos: PositionalSpec | undefined, argv: string[], name: string): { values: Values<T>; positionals: string[]; help: boolean } {
  const fail = (msg: string): never => { throw new CliError(`${name}: ${msg} (${name} --help lists the options)`); };
  const known = Object.keys(table);
  const normalized: string[] = [];
  const loose: string[] = [];
  const seen = new Set<string>();
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') { loose.push(...argv.slice(i + 1)); break; }
    if (a === '--help' || a === '-h') { help = true; continue; }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const flag = eq < 0 ? a.slice(2) : a.slice(2, eq);
      const spec = Object.hasOwn(table, flag) ? table[flag] : undefined;
      if (!spec) {
        const near = nearest(flag, known);
        fail(`unknown option --${flag}${near ? ` (did you mean --${near}?)` : ''}`);
        continue;
      }
      if (seen.has(flag) && spec.type !== 'strings') fail(`--${flag} is given more than once`);
      seen.add(flag);
      if (spec.type === 'boolean') {
        if (eq >= 0) fail(`--${flag} is a switch and takes no value (got "${a}")`);
        normalized.push(`--${flag}`);
        continue;
      }
      let value: string;
      if (eq >= 0) value = a.slice(eq + 1);
      else {
        const next = argv[i + 1];
        // the next word is the value unless it is another flag; "-1" and "-" are values
        if (next === undefined || next.startsWith('--')) fail(`--${flag} needs a value (${placeholderOf(spec)})`);
        value = next;
        i++;
      }
      normalized.push(`--${flag}=${value}`);
      continue;
    }
    if (a.length > 1 && a.startsWith('-') && !/^-(\d|\.\d)/.test(a)) fail(`unknown option ${a} (options are long: --name)`);
    loose.push(a);
  }
  if (help) return { values: {} as Values<T>, positionals: [], help: true };
  // The table, checked and normalised above, parsed by Node's own strict parser.
  const nodeOptions: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = {};
  for (const [k, o] of Object.entries(table)) nodeOptions[k] = { type: o.type === 'boolean' ? 'boolean' : 'string', multiple: o.type === 'strings' };
  let parsed: ReturnType<typeof nodeParseArgs>;
  try {
    parsed = nodeParseArgs({ args: [...normalized, '--', ...loose], options: nodeOptions, strict: true, allowPositionals: true });
  } catch (e) {
    return fail((e as Error).message);
  }
  const raw = parsed.values as Record<string, string | boolean | string[] | undefined>;
  const values: Record<string, unknown> = {};
  for (const [k, o] of Object.entries(table)) {
    const v = raw[k];
    values[camel(k)] = convert(k, o, v, fail);
  }
  const positionals = parsed.positionals;
  const min = pos?.min ?? 0, max = pos ? pos.max ?? Infinity : 0;
  if (positionals.length > max) fail(max === 0 ? `takes no arguments, got "${positionals[0]}"` : `takes at most ${max} ${pos!.name} argument(s), got ${positionals.length}`);
  if (positionals.length < min) fail(`needs ${min === 1 && max === 1 ? 'the' : `at least ${min}`} ${pos!.name} argument${min === 1 ? '' : 's'}`);
  return { values: values as Values<T>, positionals, help: false };
}

function convert(k: string, o: OptionSpec, v: string | boolean | string[] | undefined, fail: (m: string) => never): unknown {
  if (o.type === 'boolean') return v === true;
  if (o.type === 'strings') {
    const list = (v as string[] | undefined) ?? [];
    for (const s of list) if (s === '') fail(`--${k} needs a non-empty value`);
    return list;
  }
  if (v === undefined) {
    if (o.required) fail(`--${k} ${placeholderOf(o)} is required`);
    return o.type === 'numbers' && o.default ? [...o.default] : o.default;
  }
  const s = v as string;
  if (s === '' && !(o.type === 'string' && o.allowEmpty)) fail(`--${k} needs a non-empty value (${placeholderOf(o)})`);
  if (o.type === 'string') {
    if (o.choices && !o.choices.includes(s)) fail(`--${k} must be one of ${o.choices.join(', ')}, got "${s}"`);
    return s;
  }
  const num = (t: string, what: string): number => {
    const n = t.trim() === '' ? NaN : Number(t);
    if (!Number.isFinite(n)) fail(`--${k} must be a number, got "${what}"`);
    if (o.integer && !Number.isInteger(n)) fail(`--${k} must be a whole number, got "${what}"`);
    if (o.min !== undefined && n < o.min) fail(`--${k} must be at least ${o.min}, got ${what}`);
    if (o.max !== undefined && n > o.max) fail(`--${k} must be at most ${o.max}, got ${what}`);
    return n;
  };
  if (o.type === 'number') return num(s, s);
  return s.split(',').map((t) => num(t, t));
}
