// The chat-specific parts of a request body: messages (system / developer / user / assistant with
// tool_calls / tool, content as a string or a list of text parts), tools with tool_choice, and
// response_format (text, json_object, json_schema: the schema is compiled here, so an unsupported
// keyword is a 400 naming it).
import { ApiError } from './openai.js';
import { compileSchema, SchemaError, anyObject, type SchemaNode } from './json_schema.js';

type Obj = Record<string, unknown>;
const bad = (param: string, what: string): never => { throw new ApiError(400, `'${param}' ${what}`, param); };
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);

export interface ToolCallIn { id: string; name: string; arguments: string }

export interface ChatMessageIn {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string;
  /** An assistant turn's calls. */
  toolCalls?: ToolCallIn[];
  /** A tool result's call id. */
  toolCallId?: string;
}

function textContent(content: unknown, at: string, allowNull: boolean): string {
  if (content === null || content === undefined) {
    if (allowNull) return '';
    return bad(at, 'must be a string or a list of text parts');
  }
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return bad(at, 'must be a string or a list of text parts');
  return content.map((part, j) => {
    if (!isObj(part) || part.type !== 'text' || typeof part.text !== 'string') {
      const t = isObj(part) ? part.type : undefined;
      return bad(`${at}[${j}]`, typeof t === 'string' && t !== 'text' ? `is a '${t}' part; this model reads text parts only` : 'must be a text part ({"type": "text", "text": ...})');
    }
    return part.text;
  }).join('');
}

export function parseMessages(v: unknown): ChatMessageIn[] {
  if (!Array.isArray(v) || v.length === 0) bad('messages', 'must be a non-empty list of messages');
  return (v as unknown[]).map((m, i) => {
    const at = `messages[${i}]`;
    if (!isObj(m)) return bad(at, 'must be an object');
    const role = m.role === 'developer' ? 'system' : m.role;
    if (role !== 'system' && role !== 'user' && role !== 'assistant' && role !== 'tool') {
      return bad(`${at}.role`, `must be system, developer, user, assistant or tool, got ${JSON.stringify(m.role)}`);
    }
    const out: ChatMessageIn = { role, content: textContent(m.content, `${at}.content`, role === 'assistant') };
    if (role === 'assistant' && m.tool_calls !== undefined && m.tool_calls !== null) {
      if (!Array.isArray(m.tool_calls)) bad(`${at}.tool_calls`, 'must be a list');
      out.toolCalls = (m.tool_calls as unknown[]).map((c, j) => {
        const cat = `${at}.tool_calls[${j}]`;
        if (!isObj(c) || !isObj(c.function) || typeof c.function.name !== 'string') return bad(cat, 'must be {"id", "type": "function", "function": {"name", "arguments"}}');
        const args = c.function.arguments;
        if (typeof args !== 'string') return bad(`${cat}.function.arguments`, 'must be a string of JSON');
        return { id: typeof c.id === 'string' ? c.id : `call_${j}`, name: c.function.name, arguments: args };
      });
    }
    if (role === 'tool') {
      if (typeof m.tool_call_id !== 'string') bad(`${at}.tool_call_id`, 'must be the id of the call this message answers');
      out.toolCallId = m.tool_call_id as string;
    }
    return out;
  });
}

export interface ToolSpec {
  name: string;
  description?: string;
  /** The parameters' JSON schema as given. */
  parameters: Obj;
  /** The tool as the client sent it (rendered into the prompt). */
  raw: unknown;
  /** The same, compiled for constrained decoding. */
  node: SchemaNode;
}

export type ToolChoice = { kind: 'none' } | { kind: 'auto' } | { kind: 'required' } | { kind: 'named'; name: string };

function schemaNode(schema: unknown, param: string): SchemaNode {
  try {
    return compileSchema(schema);
  } catch (e) {
    if (e instanceof SchemaError) throw new ApiError(400, `'${param}': ${e.message}`, param, 'unsupported_schema');
    throw e;
  }
}

export function parseTools(tools: unknown, choice: unknown): { tools: ToolSpec[]; toolChoice: ToolChoice } {
  const list: ToolSpec[] = [];
  if (tools !== undefined && tools !== null) {
    if (!Array.isArray(tools)) bad('tools', 'must be a list of {"type": "function", "function": {...}}');
    (tools as unknown[]).forEach((t, i) => {
      const at = `tools[${i}]`;
      if (!isObj(t) || t.type !== 'function' || !isObj(t.function)) return bad(at, 'must be {"type": "function", "function": {"name", "description", "parameters"}}');
      const f = t.function;
      if (typeof f.name !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(f.name)) return bad(`${at}.function.name`, 'must be 1-64 letters, digits, _ or -');
      if (list.some((x) => x.name === f.name)) return bad(`${at}.function.name`, `repeats the tool name '${f.name}'`);
      if (f.description !== undefined && typeof f.description !== 'string') return bad(`${at}.function.description`, 'must be a string');
      const parameters = f.parameters ?? { type: 'object', properties: {} };
      if (!isObj(parameters)) return bad(`${at}.function.parameters`, 'must be a JSON schema object');
      list.push({ name: f.name, ...(typeof f.description === 'string' ? { description: f.description } : {}), parameters, raw: t, node: schemaNode(parameters, `${at}.function.parameters`) });
    });
  }
  let toolChoice: ToolChoice = { kind: list.length ? 'auto' : 'none' };
  if (choice !== undefined && choice !== null) {
    if (choice === 'none' || choice === 'auto' || choice === 'required') toolChoice = { kind: choice };
    else if (isObj(choice) && choice.type === 'function' && isObj(choice.function) && typeof choice.function.name === 'string') toolChoice = { kind: 'named', name: choice.function.name };
    else return bad('tool_choice', 'must be "none", "auto", "required" or {"type": "function", "function": {"name": ...}}');
    if (toolChoice.kind === 'named' && !list.some((t) => t.name === (toolChoice as { name: string }).name)) bad('tool_choice', `names the function '${(toolChoice as { name: string }).name}', which is not in 'tools'`);
    if ((toolChoice.kind === 'required' || toolChoice.kind === 'auto') && list.length === 0) bad('tool_choice', `is '${toolChoice.kind}' but no 'tools' were given`);
  }
  return { tools: list, toolChoice };
}

export type ResponseFormat = { type: 'text' } | { type: 'json_object'; node: SchemaNode } | { type: 'json_schema'; name: string; schema: unknown; node: SchemaNode };

export function parseResponseFormat(v: unknown): ResponseFormat {
  if (v === undefined || v === null) return { type: 'text' };
  if (!isObj(v)) return bad('response_format', 'must be an object such as {"type": "json_object"}');
  if (v.type === 'text') return { type: 'text' };
  if (v.type === 'json_object') return { type: 'json_object', node: anyObject() };
  if (v.type === 'json_schema') {
    const js = v.json_schema;
    if (!isObj(js)) return bad('response_format.json_schema', 'must be {"name", "schema", "strict"}');
    if (js.name !== undefined && typeof js.name !== 'string') bad('response_format.json_schema.name', 'must be a string');
    const schema = js.schema ?? {};
    return { type: 'json_schema', name: (js.name as string | undefined) ?? 'response', schema, node: schemaNode(schema, 'response_format.json_schema.schema') };
  }
  return bad('response_format.type', `must be text, json_object or json_schema, got ${JSON.stringify(v.type)}`);
}
