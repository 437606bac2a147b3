// Constrained JSON decoding: the schema compiler's errors, byte-level random walks through the automaton
// (every completed walk parses and validates with ajv), token masks against brute force, and
// response_format through the server on a random-weight model (every reply parses and validates).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Ajv } from 'ajv';
import { compileSchema, SchemaError } from '../../src/serve/json_schema.js';
import { advance, advanceAll, canEnd, dedupe, val, type State } from '../../src/serve/json_automaton.js';
import { jsonGrammar } from '../../src/serve/constraints.js';
import { compileBounds, reachable, unitsOf, within } from '../../src/serve/json_bounds.js';
import { tiny, tinyEngine } from './fixture.js';
import { startServer, type HcxServer } from '../../src/serve/server.js';
import { Rng } from '../../src/tensor/index.js';

const ajv = new Ajv({ strict: false });

const SCHEMAS: Record<string, object> = {
  person: {
    type: 'object',
    properties: {
      name: { type: 'string' }, age: { type: 'integer' }, score: { type: 'number' }, ok: { type: 'boolean' }, nothing: { type: 'null' },
      tags: { type: 'array', items: { enum: ['a', 'bb', 1, null] }, minItems: 1, maxItems: 3 },
      kind: { const: 'person' },
      pet: { anyOf: [{ type: 'null' }, { type: 'object', properties: { species: { enum: ['cat', 'dog'] }, legs: { type: 'integer' } }, required: ['species'], additionalProperties: false }] },
    },
    required: ['name', 'age', 'kind'],
    additionalProperties: false,
  },
  open: { type: 'object', properties: { id: { type: 'integer' } } },
  list: { type: 'array', items: { type: ['string', 'number'] }, maxItems: 4 },
  tree: { $defs: { node: { type: 'object', properties: { v: { type: 'integer' }, kids: { type: 'array', items: { $ref: '#/$defs/node' }, maxItems: 2 } }, required: ['v'], additionalProperties: false } }, $ref: '#/$defs/node' },
  top: { type: 'number' },
  bounded: {
    type: 'object',
    properties: {
      code: { type: 'string', minLength: 2, maxLength: 4 }, note: { type: 'string', maxLength: 3 }, long: { type: 'string', minLength: 3 },
      n: { type: 'integer', minimum: -3, maximum: 12 }, p: { type: 'number', exclusiveMinimum: 0, maximum: 1.5 },
      big: { type: 'integer', minimum: 150, exclusiveMaximum: 2000 }, neg: { type: 'number', maximum: -0.25 },
    },
    required: ['code', 'n', 'p', 'big', 'neg', 'long'],
    additionalProperties: false,
  },
};

/** A random walk over bytes: at each step a uniformly drawn byte among those the automaton allows. */
function walk(states: State[], rng: Rng, maxBytes: number): { text: string; ended: boolean } {
  const out: number[] = [];
  for (let i = 0; i < maxBytes; i++) {
    if (states.some(canEnd) && rng.next() < 0.15) return { text: Buffer.from(out).toString('utf8'), ended: true };
    const options: [number, State[]][] = [];
    for (let b = 0; b < 256; b++) {
      const next: State[] = [];
      for (const s of states) advance(s, b, next as never);
      if (next.length) options.push([b, dedupe(next)]);
    }
    if (options.length === 0) return { text: Buffer.from(out).toString('utf8'), ended: states.some(canEnd) };
    // Structure bytes more often than string content, so walks finish.
    const structural = options.filter(([b]) => b < 0x80 && !/[A-Za-z0-9 ]/.test(String.fromCharCode(b)));
    const closers = options.filter(([b]) => b === 0x7d || b === 0x5d || b === 0x22);
    const r = rng.next();
    const pool = closers.length && r < 0.25 ? closers : structural.length && r < 0.6 ? structural : options;
    const [b, ns] = pool[Math.floor(rng.next() * pool.length)];
    out.push(b);
    states = ns;
  }
  return { text: Buffer.from(out).toString('utf8'), ended: states.some(canEnd) };
}

test('random walks through the schema automaton always parse and validate (ajv)', () => {
  const rng = new Rng(7);
  for (const [name, schema] of Object.entries(SCHEMAS)) {
    const validate = ajv.compile(schema);
    const node = compileSchema(schema);
    let ended = 0;
    for (let i = 0; i < 40; i++) {
      const w = walk([[val(node)]], rng, 600);
      if (!w.ended) continue;
      ended++;
      let parsed: unknown;
      assert.doesNotThrow(() => { parsed = JSON.parse(w.text); }, `${name}: ${w.text}`);
      assert.ok(validate(parsed), `${name}: ${w.text} ${JSON.stringify(validate.errors)}`);
    }
    assert.ok(ended >= 10, `${name}: only ${ended} walks ended`);
  }
});

test('the automaton rejects what the schema forbids', () => {
  const node = compileSchema(SCHEMAS.person);
  const accepts = (s: string) => { const st = advanceAll([[val(node)]], new TextEncoder().encode(s)); return st.length > 0 && st.some(canEnd); };
  const prefix = (s: string) => advanceAll([[val(node)]], new TextEncoder().encode(s)).length > 0;
  assert.ok(accepts('{"name": "김", "age": 3, "kind": "person"}'));
  assert.ok(accepts('{"kind":"person","age":-0,"name":"a\\u00e9\\n","tags":[1,"bb"],"pet":{"species":"cat"}}'));
  assert.ok(!accepts('{"name": "a", "age": 3}'), 'required kind missing');
  assert.ok(!prefix('{"name": "a", "extra"'), 'additionalProperties false');
  assert.ok(!prefix('{"age": 3.5'), 'integer');
  assert.ok(!prefix('{"age": 01'), 'leading zero');
  assert.ok(!prefix('{"tags": []'), 'minItems');
  assert.ok(!prefix('{"tags": [1, 1, 1, 1'), 'maxItems');
  assert.ok(!prefix('{"name": "a\u0001'), 'raw control character');
  assert.ok(!prefix('{"name": "a", "name"'), 'a key twice');
  assert.ok(!prefix('{"pet": {"species": "cow"'), 'enum');
  assert.equal(advanceAll([[val(node)]], Uint8Array.from([...Buffer.from('{"name": "'), 0xff])).length, 0, 'invalid UTF-8');
  // A free key may not spell a declared property (its value would escape that property's schema).
  const open = compileSchema(SCHEMAS.open);
  const okOpen = (s: string) => advanceAll([[val(open)]], new TextEncoder().encode(s)).length > 0;
  assert.ok(okOpen('{"id": 1, "other": [true]'));
  assert.ok(!okOpen('{"id": 1, "id"'));
});

test('string lengths and numeric bounds: accepted and refused prefixes', () => {
  const node = compileSchema(SCHEMAS.bounded);
  const enc = new TextEncoder();
  const alive = (s: string) => advanceAll([[val(node)]], enc.encode(s)).length > 0;
  assert.ok(alive('{"code": "가나"'), 'two code points of three bytes each');
  assert.ok(!alive('{"code": "a"'), 'minLength 2');
  assert.ok(!alive('{"code": "abcde'), 'maxLength 4');
  assert.ok(alive('{"code": "a\\n"'), 'an escape counts as one');
  assert.ok(!alive('{"code": "a\\u'), 'no \\u escapes in a length-bounded string');
  assert.ok(alive('{"note": ""') && !alive('{"note": "abcd'));
  assert.ok(alive('{"n": -3,') && !alive('{"n": -4') && alive('{"n": 12,') && !alive('{"n": 13') && !alive('{"n": 120'));
  assert.ok(alive('{"n": 1') && alive('{"n": 0,') && !alive('{"n": -0.'));
  assert.ok(!alive('{"p": 0,'), 'exclusiveMinimum 0') ;
  assert.ok(alive('{"p": 0.') && alive('{"p": 0.0') && alive('{"p": 0.001,') && alive('{"p": 1.5,') && !alive('{"p": 1.51') && !alive('{"p": 2') && !alive('{"p": -'));
  assert.ok(!alive('{"p": 1e'), 'no exponent in a bounded number');
  assert.ok(alive('{"big": 1') && alive('{"big": 15') && !alive('{"big": 14,') && alive('{"big": 1999,') && !alive('{"big": 2000') && alive('{"big": 2') && !alive('{"big": 3,'));
  assert.ok(alive('{"neg": -0.25,') && !alive('{"neg": -0.2,') && alive('{"neg": -0.2') && !alive('{"neg": 0'));
});

test('numeric bounds: a prefix is kept exactly when some number it begins lies within the bounds (brute force)', () => {
  const rng = new Rng(11);
  // Every text of up to 2 integer and 2 fraction digits, as the automaton writes them.
  const ints = ['0', ...Array.from({ length: 99 }, (_, i) => String(i + 1))];
  const texts = ints.flatMap((i) => [i, ...Array.from({ length: 10 }, (_, a) => `${i}.${a}`), ...Array.from({ length: 100 }, (_, a) => `${i}.${String(a).padStart(2, '0')}`)]);
  const all = [...texts, ...texts.map((t) => '-' + t)];
  for (let trial = 0; trial < 60; trial++) {
    const int = trial % 2 === 0;
    const pick = () => (int ? Math.round((rng.next() - 0.5) * 200) : Math.round((rng.next() - 0.5) * 20000) / 100);
    const b: { min?: number; max?: number; xmin?: number; xmax?: number } = {};
    if (rng.next() < 0.7) b[rng.next() < 0.5 ? 'min' : 'xmin'] = pick();
    if (rng.next() < 0.7) b[rng.next() < 0.5 ? 'max' : 'xmax'] = pick();
    const bounds = compileBounds(b, int ? 0 : 2);
    const ok = (x: number) => (b.min === undefined || x >= b.min) && (b.xmin === undefined || x > b.xmin) && (b.max === undefined || x <= b.max) && (b.xmax === undefined || x < b.xmax);
    const pool = all.filter((t) => !int || !t.includes('.'));
    const prefixes = new Set(pool.flatMap((t) => Array.from({ length: t.length }, (_, i) => t.slice(0, i + 1))));
    for (const p of prefixes) {
      const want = pool.some((t) => t.startsWith(p) && ok(Number(t)));
      assert.equal(reachable(p, bounds, 2), want, `${JSON.stringify(b)} ${int ? 'integer' : 'number'} prefix ${p}`);
    }
    for (const t of pool) assert.equal(within(unitsOf(t, bounds.scale), bounds), ok(Number(t)), `${JSON.stringify(b)} ${t}`);
  }
});

test('unsupported schema keywords are errors naming the keyword and where', () => {
  const cases: [object, string, RegExp][] = [
    [{ type: 'string', pattern: '^a' }, 'pattern', /\(at \/\)/],
    [{ type: 'object', properties: { x: { type: 'string', format: 'email' } } }, 'format', /\/properties\/x/],
    [{ oneOf: [{ type: 'string' }] }, 'oneOf', /unsupported/],
    [{ type: 'integer', multipleOf: 2 }, 'multipleOf', /unsupported/],
    [{ type: 'string', minimum: 0 }, 'minimum', /applies to numbers/],
    [{ type: 'integer', minimum: 5, maximum: 4 }, 'maximum', /no integer satisfies/],
    [{ type: 'integer', exclusiveMinimum: 1, exclusiveMaximum: 2 }, 'maximum', /no integer satisfies/],
    [{ type: 'number', maximum: 1e300 }, 'maximum', /below 1e15/],
    [{ type: 'string', minLength: 3, maxLength: 2 }, 'maxLength', /below 'minLength'/],
    [{ type: 'string', maxLength: 1.5 }, 'maxLength', /non-negative integer/],
    [{ $ref: 'http://example.com/s.json' }, '$ref', /local references/],
    [{ type: 'strange' }, 'type', /unknown type/],
  ];
  for (const [schema, kw, re] of cases) {
    assert.throws(() => compileSchema(schema), (e: unknown) => e instanceof SchemaError && e.keyword === kw && re.test(e.message), JSON.stringify(schema));
  }
});

test('token masks equal brute force over the vocabulary', async () => {
  const { tok, model } = await tiny();
  const V = model.config.vocabSize;
  const g = jsonGrammar(tok, V, compileSchema(SCHEMAS.person), 'person-mask-test', [tok.special.endofturn]);
  const enc = new TextEncoder();
  for (const prefix of ['', '{', '{"na', '{"name": "x', '{"name": "x", "age": 1', '{"name":"x","age":1,"kind":"person"}']) {
    const states = advanceAll(g.start, enc.encode(prefix));
    const mask = g.allowed(states);
    for (let id = 0; id < V; id++) {
      let want: boolean;
      if (id === tok.special.endofturn) want = states.some(canEnd);
      else if (id >= tok.vocabSize || tok.specialTokens.has(id)) want = false;
      else want = advanceAll(states, tok.tokenBytes(id)).length > 0;
      assert.equal(mask[id] === 1, want, `prefix ${JSON.stringify(prefix)}, token ${id} ${JSON.stringify(tok.decode([id]))}`);
    }
  }
});

let server: HcxServer;
const { tok, model } = await tiny();
before(async () => { server = await startServer(tinyEngine(tok, model), tok, { modelName: 'tiny' }); });
after(() => server.close(0));
const post = async (path: string, body: unknown) => {
  const r = await fetch(server.url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: r.status, body: await r.json() };
};

// Strings end only when a token with a quote is drawn: favour the plain quote token so replies finish.
const quote = tok.encode('"')[0];

test('response_format json_schema / json_object on a random-weight model: every reply parses and validates', async () => {
  for (const name of ['person', 'list', 'tree', 'bounded']) {
    const schema = SCHEMAS[name];
    const validate = ajv.compile(schema);
    for (let seed = 0; seed < 6; seed++) {
      const { status, body } = await post('/v1/chat/completions', {
        messages: [{ role: 'user', content: 'Give me JSON.' }], temperature: 1, seed, max_tokens: 240, logit_bias: { [quote]: 4 },
        response_format: { type: 'json_schema', json_schema: { name, schema, strict: true } },
      });
      assert.equal(status, 200, JSON.stringify(body));
      const c = body.choices[0];
      assert.equal(c.finish_reason, 'stop', `${name} seed ${seed}: ${c.message.content}`);
      const parsed = JSON.parse(c.message.content);
      assert.ok(validate(parsed), `${name} seed ${seed}: ${c.message.content} ${JSON.stringify(validate.errors)}`);
    }
  }
  const obj = await post('/v1/completions', { prompt: 'JSON:', temperature: 1, seed: 3, max_tokens: 200, logit_bias: { [quote]: 4 }, response_format: { type: 'json_object' } });
  assert.equal(obj.body.choices[0].finish_reason, 'stop');
  const v = JSON.parse(obj.body.choices[0].text);
  assert.ok(typeof v === 'object' && v !== null && !Array.isArray(v));
});

test('an unsupported schema keyword is a 400 naming it', async () => {
  const r = await post('/v1/chat/completions', {
    messages: [{ role: 'user', content: 'x' }],
    response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object', properties: { when: { type: 'string', format: 'date-time' } } } } },
  });
  assert.equal(r.status, 400);
  assert.equal(r.body.error.param, 'response_format.json_schema.schema');
  assert.match(r.body.error.message, /unsupported JSON schema keyword 'format' \(at \/properties\/when\)/);
  const t = await post('/v1/chat/completions', { messages: [{ role: 'user', content: 'x' }], response_format: { type: 'yaml' } });
  assert.equal(t.status, 400);
  assert.equal(t.body.error.param, 'response_format.type');
});
