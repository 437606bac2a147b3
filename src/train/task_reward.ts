// GRPO's verifiable reward: an evaluation task's own answer filter and metric (tasks/*.json, as
// `hcx eval` runs them), so RL and evaluation share one scorer. For gsm8k: the "strict-match" regex
// pulls the number after "####", then exact match with the task's regexes_to_ignore against the
// reference (a prompt record's final assistant turn, e.g. "... #### 42").
import { applyPipeline } from '../eval/filters.js';
import { exactMatch, f1Score } from '../eval/metrics.js';
import { loadSpecs, selectTasks } from '../eval/task.js';

export type Scorer = (response: string, reference: string) => number;

/** The scorer of task `name` (its first filter pipeline unless `filter` names one; exact_match or f1). */
export function taskScorer(name: string, filter?: string, tasksDir?: string): Scorer {
  const specs = selectTasks(loadSpecs(tasksDir), [name]);
  if (specs.length !== 1) throw new Error(`--reward ${name}: names a group of ${specs.length} tasks; give one task`);
  const spec = specs[0];
  if (spec.output_type !== 'generate_until') throw new Error(`--reward ${name}: a ${spec.output_type} task has no answer to score; use a generate_until task`);
  const pipes = spec.filters ?? [{ name: 'none', steps: [{ fn: 'take_first' }] }];
  const pipe = filter ? pipes.find((p) => p.name === filter) : pipes[0];
  if (!pipe) throw new Error(`--reward ${name}: no filter "${filter}" (has: ${pipes.map((p) => p.name).join(', ')})`);
  const metric = spec.metrics.find((m) => m.metric === 'exact_match' || m.metric === 'f1');
  if (!metric) throw new Error(`--reward ${name}: the task has no exact_match or f1 metric to reward with`);
  return (response, reference) => {
    const out = applyPipeline([response], pipe.steps)[0] ?? '';
    return metric.metric === 'exact_match' ? exactMatch(out, reference, metric) : f1Score(out, reference);
  };
}
