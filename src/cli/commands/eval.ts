import { defineCommand } from '../args.js';

export const command = defineCommand({
  summary: 'evaluate a model on the benchmark suite (lm-eval metrics; JSON + markdown results; resumable)',
  options: {
    model: { type: 'string', placeholder: 'SPEC', description: 'the model to evaluate (see below); required unless --list' },
    tasks: { type: 'string', placeholder: 'NAMES|GROUPS', description: 'comma-separated task or group names; required unless --list' },
    list: { type: 'boolean', description: 'print the task names and exit' },
    limit: { type: 'number', integer: true, min: 1, description: 'first N documents of each task' },
    'num-fewshot': { type: 'number', integer: true, min: 0, description: 'override the tasks\' few-shot counts' },
    repeats: { type: 'number', integer: true, min: 1, description: 'override the tasks\' generation repeats' },
    out: { type: 'string', placeholder: 'DIR', default: 'eval-results', description: 'results, table and request cache' },
    judge: { type: 'string', placeholder: 'SPEC', description: 'the judge model for judged tasks' },
    data: { type: 'string', placeholder: 'DIR', description: 'the shared data folder (default: ../shared/data)' },
    path: { type: 'strings', placeholder: 'NAME=DIR', description: 'data that is not in shared/' },
    'no-cache': { type: 'boolean', description: 'neither read nor write the request cache' },
    'tasks-dir': { type: 'string', placeholder: 'DIR', description: 'task YAML folder (default: the shipped tasks/)' },
  },
  notes: 'model SPEC: openai:URL#MODEL[,chat,concurrency=N,batch=N] | gguf:PATH[#sequences=N,ctx=N,cpu] | hcx:CHECKPOINT\n' +
    '--path NAME=DIR supplies data that is not in shared/ (haerae, kobigbench, koif, k_humaneval, triviaqa, xcsqa, math, arc_easy)',
  async run(o) {
    const { loadSpecs, selectTasks } = await import('../../eval/task.js');
    const specs = loadSpecs(o.tasksDir);
    if (o.list) {
      console.log(specs.map((s) => s.task).join('\n'));
      return;
    }
    if (!o.model || !o.tasks) throw new Error('hcx eval: --model and --tasks are required (hcx eval --help)');
    const { defaultSharedDir } = await import('../../eval/data.js');
    const { loadModel } = await import('../../eval/backends/index.js');
    const { evaluate } = await import('../../eval/runner.js');
    const { RequestCache } = await import('../../eval/cache.js');
    const { writeResults, markdownTable } = await import('../../eval/report.js');
    const { runPython, sandboxMechanisms } = await import('../../eval/sandbox.js');
    const named: Record<string, string> = {};
    for (const kv of o.path) {
      const eq = kv.indexOf('=');
      if (eq < 1 || eq === kv.length - 1) throw new Error(`hcx eval: --path expects NAME=DIR, got "${kv}"`);
      named[kv.slice(0, eq)] = kv.slice(eq + 1);
    }
    const selected = selectTasks(specs, o.tasks.split(',').map((s) => s.trim()).filter(Boolean));
    const model = await loadModel(o.model);
    const judge = o.judge ? await loadModel(o.judge) : undefined;
    const slug = model.id.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 120);
    const cache = new RequestCache(o.noCache ? null : `${o.out}/cache/${slug}.jsonl`);
    const gaps = selected.some((s) => s.output_type === 'code') ? sandboxMechanisms().notEnforced : [];
    if (gaps.length) console.error(`hcx eval: warning: the code sandbox cannot enforce everything here (hcx info shows it):\n  ${gaps.join('\n  ')}`);
    const results = await evaluate(selected, model, {
      roots: { shared: o.data ?? defaultSharedDir(), named },
      limit: o.limit, numFewshot: o.numFewshot, repeats: o.repeats,
      cache, judge, runProgram: runPython, progress: process.stderr.isTTY,
    });
    const files = writeResults(results, o.out);
    console.log(markdownTable(results));
    console.log(`results: ${files.json}\ntable:   ${files.md}\ncache:   ${cache.file} (${cache.hits} hits, ${cache.misses} misses)`);
    await model.close?.();
    await judge?.close?.();
  },
});
