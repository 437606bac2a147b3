// The strict command line: every command rejects what it does not know, by name, before doing any work.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CliError, defineCommand, defineGroup, leafCommands, nearest } from '../../src/cli/args.js';
import { main, root } from '../../src/cli/main.js';
import { apiKeyFrom } from '../../src/cli/commands/serve.js';

const rejects = async (argv: string[], re: RegExp): Promise<void> => {
  await assert.rejects(main(argv), (e: Error) => {
    assert.ok(e instanceof CliError, `${argv.join(' ')}: ${e.stack}`);
    assert.match(e.message, re);
    return true;
  });
};

async function captureLog(fn: () => Promise<void>): Promise<string> {
  const log = console.log;
  let out = '';
  console.log = (...a: unknown[]) => { out += a.join(' ') + '\n'; };
  try { await fn(); } finally { console.log = log; }
  return out;
}

test('every registered command rejects an unknown flag, naming it, before doing any work', async () => {
  const leaves = await leafCommands(root, 'hcx');
  // all top-level commands and their subcommands are there
  const names = leaves.map((l) => l.name);
  for (const n of ['hcx serve', 'hcx pretrain', 'hcx data build', 'hcx data verify', 'hcx bench gemm', 'hcx bench serve', 'hcx segmenter cv', 'hcx tokenizer train', 'hcx info']) assert.ok(names.includes(n), n);
  assert.ok(leaves.length >= 27, `${leaves.length} commands`);
  for (const { name } of leaves) {
    await rejects([...name.split(' ').slice(1), '--no-such-flag-xyz'], new RegExp(`^${name}: unknown option --no-such-flag-xyz`));
    await rejects([...name.split(' ').slice(1), '--no-such-flag-xyz=1'], /unknown option --no-such-flag-xyz\b/);
  }
});

test('typos are rejected with the nearest known flag: --resum, --apikey, --api_key', async () => {
  await rejects(['pretrain', '--config', 'x.json', '--resum'], /unknown option --resum \(did you mean --resume\?\)/);
  await rejects(['serve', '--model', 'm', '--apikey', 'K'], /unknown option --apikey \(did you mean --api-key\?\)/);
  await rejects(['serve', '--model', 'm', '--api_key', 'K'], /unknown option --api_key \(did you mean --api-key\?\)/);
  await rejects(['bench', 'gemm', '--threds', '1'], /did you mean --threads/);
  await rejects(['data', 'bild'], /unknown subcommand "bild" \(did you mean "build"\?\)/);
  await rejects(['srve'], /unknown command "srve" \(did you mean "serve"\?\)/);
  assert.equal(nearest('zzzzzzzz', ['model', 'port']), undefined);
});

test('an empty API key is an error, never a server without authentication', async () => {
  await rejects(['serve', '--model', 'm', '--api-key='], /--api-key needs a non-empty value/);
  await rejects(['serve', '--model', 'm', '--api-key', ''], /--api-key needs a non-empty value/);
  assert.throws(() => apiKeyFrom(undefined, 'hcx serve', { HCX_API_KEY: '' }), /HCX_API_KEY is set but empty/);
  assert.throws(() => apiKeyFrom(undefined, 'hcx serve', { HCX_API_KEY: '  ' }), /HCX_API_KEY is set but empty/);
  assert.equal(apiKeyFrom(undefined, 'hcx serve', { HCX_API_KEY: 'k1' }), 'k1');
  assert.equal(apiKeyFrom('k2', 'hcx serve', { HCX_API_KEY: 'k1' }), 'k2');
  assert.equal(apiKeyFrom(undefined, 'hcx serve', {}), undefined);
});

test('missing values, values given to switches, non-numbers, repeats and stray arguments are errors naming the flag', async () => {
  await rejects(['serve', '--model'], /--model needs a value \(DIR\|FILE\)/);
  await rejects(['serve', '--model', '--port', '1'], /--model needs a value/);
  await rejects(['serve', '--model', 'm', '--no-prefix-cache=1'], /--no-prefix-cache is a switch and takes no value/);
  await rejects(['pretrain', '--config', 'c', '--resume=yes'], /--resume is a switch/);
  await rejects(['serve', '--model', 'm', '--port', 'abc'], /--port must be a number, got "abc"/);
  await rejects(['serve', '--model', 'm', '--port', '1.5'], /--port must be a whole number/);
  await rejects(['serve', '--model', 'm', '--port', '70000'], /--port must be at most 65535/);
  await rejects(['serve', '--model', 'm', '--port='], /--port needs a non-empty value/);
  await rejects(['bench', 'gemm', '--threads', '1,x'], /--threads must be a number, got "x"/);
  await rejects(['bench', 'gemm', '--threads', '1,,2'], /--threads must be a number, got ""/);
  await rejects(['serve', '--model', 'a', '--model', 'b'], /--model is given more than once/);
  await rejects(['serve', '--model', 'm', 'extra'], /takes no arguments, got "extra"/);
  await rejects(['serve', '-m', 'x'], /unknown option -m/);
  await rejects(['serve'], /--model DIR\|FILE is required/);
  await rejects(['export', '--model', 'm', '--out', 'o', '--format', 'onnx'], /--format must be one of hf, gguf, both, got "onnx"/);
  await rejects(['data', 'verify'], /needs the DIR argument/);
  await rejects(['data', 'verify', 'a', 'b'], /at most 1 DIR/);
  await rejects(['data'], /choose a subcommand: build, demo-config, corpus, verify/);
  await rejects(['data', '--fresh'], /unknown subcommand "--fresh"/);
});

const probe = defineCommand({
  summary: 'a probe',
  options: {
    name: { type: 'string', placeholder: 'NAME', description: 'a name' },
    seed: { type: 'number', integer: true, default: 0, description: 'a seed' },
    temperature: { type: 'number', default: 0.7, description: 'a temperature' },
    threads: { type: 'numbers', integer: true, default: [1, 2], description: 'thread counts' },
    path: { type: 'strings', placeholder: 'NAME=DIR', description: 'named paths' },
    'no-cache': { type: 'boolean', description: 'no cache' },
    mode: { type: 'string', choices: ['a', 'b'], default: 'a', description: 'a mode' },
    secret: { type: 'string', hidden: true, description: 'internal' },
    suffix: { type: 'string', allowEmpty: true, description: 'may be empty' },
  },
  positionals: { name: 'FILE', description: 'inputs' },
  run() {},
});

test('--flag=value and --flag value parse the same; negative numbers and dash-led values are values', () => {
  const a = probe.parse(['--name', 'x', '--seed', '-3', '--temperature', '-0.5', '--threads', '-1,4', '--path', 'a=1', '--path=b=2', '--no-cache', 'f1', '-', '-7']);
  const b = probe.parse(['--name=x', '--seed=-3', '--temperature=-0.5', '--threads=-1,4', '--path=a=1', '--path', 'b=2', '--no-cache', 'f1', '-', '-7']);
  assert.deepEqual(a, b);
  assert.deepEqual(a.values, { name: 'x', seed: -3, temperature: -0.5, threads: [-1, 4], path: ['a=1', 'b=2'], noCache: true, mode: 'a', secret: undefined, suffix: undefined });
  assert.deepEqual(a.positionals, ['f1', '-', '-7']);
  assert.equal(probe.parse(['--name', '-dash-led']).values.name, '-dash-led');
  // defaults, and a copy of list defaults (mutating one parse cannot change the next)
  const d = probe.parse([]);
  assert.deepEqual(d.values, { name: undefined, seed: 0, temperature: 0.7, threads: [1, 2], path: [], noCache: false, mode: 'a', secret: undefined, suffix: undefined });
  d.values.threads.push(9);
  assert.deepEqual(probe.parse([]).values.threads, [1, 2]);
  // `--` ends the flags; an explicitly empty value where allowed
  assert.deepEqual(probe.parse(['--', '--name', 'x']).positionals, ['--name', 'x']);
  assert.equal(probe.parse(['--suffix=']).values.suffix, '');
  assert.equal(probe.parse(['--secret', 's']).values.secret, 's');
  assert.equal(probe.parse(['--help']).help, true);
  assert.equal(probe.parse(['--name', 'x', '-h']).help, true);
});

test('help text is generated from the table: flags, placeholders, defaults, descriptions; hidden flags left out', async () => {
  const h = probe.help('hcx probe');
  assert.match(h, /^hcx probe: a probe\n\nusage: hcx probe \[options\] \[FILE \.\.\.\]/);
  for (const re of [/--name NAME +a name\n/, /--seed N +a seed \(default: 0\)/, /--temperature X +a temperature \(default: 0\.7\)/,
    /--threads N,N,\.\.\. +thread counts \(default: 1,2\)/, /--path NAME=DIR \.\.\. +named paths \(may be repeated\)/,
    /--no-cache +no cache\n/, /--mode a\|b +a mode \(default: a\)/, /-h, --help +show this help/, /FILE +inputs/]) assert.match(h, re);
  assert.doesNotMatch(h, /secret|internal/);
  // every real command: its help names each of its visible flags, and `--help` prints it instead of running
  for (const { name, command } of await leafCommands(root, 'hcx')) {
    const text = command.help(name);
    assert.ok(text.startsWith(`${name}: ${command.summary}\n`), name);
    for (const [k, o] of Object.entries(command.options)) {
      if (o.hidden) assert.ok(!text.includes(`--${k} `), `${name} --${k} is hidden`);
      else assert.ok(text.includes(`--${k}`), `${name} --${k}`);
      if (!o.hidden && o.type !== 'boolean' && o.type !== 'strings' && o.default !== undefined) {
        assert.ok(text.includes(`(default: ${Array.isArray(o.default) ? o.default.join(',') : o.default})`), `${name} --${k} default`);
      }
    }
  }
  const printed = await captureLog(() => main(['serve', '--help']));
  assert.match(printed, /^hcx serve: serve a model/);
  assert.match(printed, /--api-key KEY/);
  assert.match(await captureLog(() => main(['data', 'build', '-h'])), /usage: hcx data build --config FILE \[options\]/);
  assert.match(await captureLog(() => main(['data', '--help'])), /subcommands:\n {2}build +run the pipeline/);
  assert.match(await captureLog(() => main([])), /commands:\n {2}demo /);
});

test('groups: a subcommand table of its own, lazy loaders, and tables that cannot be misdeclared', async () => {
  let ran: unknown;
  const g = defineGroup({ summary: 'g', subcommands: { one: async () => defineCommand({ summary: 'one', options: { n: { type: 'number', default: 1, description: '' } }, run(o) { ran = o.n; } }) } });
  await g.run(['one', '--n', '-4'], 'hcx g');
  assert.equal(ran, -4);
  await assert.rejects(g.run(['one', '--m', '1'], 'hcx g'), /hcx g one: unknown option --m/);
  await assert.rejects(g.run(['two'], 'hcx g'), /unknown subcommand "two"/);
  assert.throws(() => defineCommand({ summary: '', options: { Bad_Name: { type: 'boolean', description: '' } }, run() {} }), /bad flag name/);
  assert.throws(() => defineCommand({ summary: '', options: { x: { type: 'string', required: true, default: 'a', description: '' } }, run() {} }), /required and has a default/);
});
