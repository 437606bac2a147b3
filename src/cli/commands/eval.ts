import type { Command } from '../main.js';
import { parseArgs, flagString, flagNumber, flagBool } from '../args.js';

export const command: Command = {
  summary: 'evaluate a model on the benchmark suite (lm-eval metrics; JSON + markdown results; resumable)',
  usage: `hcx eval --model SPEC --tasks NAMES|GROUPS [--limit N] [--num-fewshot N] [--repeats N] [--out DIR]
         [--judge SPEC] [--data DIR] [--path NAME=DIR ...] [--no-cache] [--tasks-dir DIR]
hcx eval --list
model SPEC: openai:URL#MODEL[,chat,concurrency=N,batch=N] | gguf:PATH[#sequences=N,ctx=N,cpu] | hcx:CHECKPOINT
--path NAME=DIR supplies data that is not in shared/ (haerae, kobigbench, koif, k_humaneval, triviaqa, xcsqa, math, arc_easy)`,
  async run(argv) {
    const p = parseArgs(argv);
    const { loadSpecs, selectTasks } = await import('../../eval/task.js');
    const tasksDir = flagString(p, 'tasks-dir');
    const specs = loadSpecs(tasksDir);
    if (flagBool(p, 'list')) {
      console.log(specs.map((s) => s.task).join('\n'));
      return;
    }
    const modelSpec = flagString(p, 'model');
    const taskNames = flagString(p, 'tasks');
    if (!modelSpec || !taskNames) throw new Error('hcx eval: --model and --tasks are required (hcx eval --help)');
    const { defaultSharedDir } = await import('../../eval/data.js');
    const { loadModel } = await import('../../eval/backends/index.js');
    const { evaluate } = await import('../../eval/runner.js');
    const { RequestCache } = await import('../../eval/cache.js');
    const { writeResults, markdownTable } = await import('../../eval/report.js');
    const { runPython, detectIsolation } = await import('../../eval/sandbox.js');
    const named: Record<string, string> = {};
    const pathIdx = argv.flatMap((a, i) => (a === '--path' ? [argv[i + 1]] : a.startsWith('--path=') ? [a.slice(7)] : []));
    for (const kv of pathIdx) {
      const eq = kv?.indexOf('=') ?? -1;
      if (eq < 1) throw new Error(`--path expects NAME=DIR, got "${kv}"`);
      named[kv.slice(0, eq)] = kv.slice(eq + 1);
    }
    const selected = selectTasks(specs, taskNames.split(',').map((s) => s.trim()).filter(Boolean));
    const model = await loadModel(modelSpec);
    const judge = flagString(p, 'judge') ? await loadModel(flagString(p, 'judge')!) : undefined;
    const out = flagString(p, 'out', 'eval-results')!;
    const slug = model.id.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 120);
    const cache = new RequestCache(flagBool(p, 'no-cache') ? null : `${out}/cache/${slug}.jsonl`);
    if (selected.some((s) => s.output_type === 'code') && detectIsolation() !== 'full') {
      console.error('hcx eval: warning: code runs with resource limits only (no namespaces: needs root, unshare, setpriv)');
    }
    const limitRaw = flagString(p, 'limit');
    const results = await evaluate(selected, model, {
      roots: { shared: flagString(p, 'data', defaultSharedDir())!, named },
      limit: limitRaw === undefined ? undefined : flagNumber(p, 'limit', 0),
      numFewshot: flagString(p, 'num-fewshot') === undefined ? undefined : flagNumber(p, 'num-fewshot', 0),
      repeats: flagString(p, 'repeats') === undefined ? undefined : flagNumber(p, 'repeats', 1),
      cache, judge, runProgram: runPython, progress: process.stderr.isTTY,
    });
    const files = writeResults(results, out);
    console.log(markdownTable(results));
    console.log(`results: ${files.json}\ntable:   ${files.md}\ncache:   ${cache.file} (${cache.hits} hits, ${cache.misses} misses)`);
    await model.close?.();
    await judge?.close?.();
  },
};
