import { defineCommand } from '../args.js';

export const command = defineCommand({
  summary: 'GRPO with a verifiable reward: an eval task\'s own answer filter and metric (e.g. gsm8k exact match)',
  options: {
    from: { type: 'string', placeholder: 'MODEL', description: 'the model to train: an hcx run or checkpoint, a Hugging Face model folder or a .gguf file' },
    prompts: { type: 'strings', placeholder: 'FILE', description: 'chat records whose final assistant turn is the reference answer' },
    reward: { type: 'string', placeholder: 'TASK', description: 'the eval task (tasks/*.json) whose filter and metric score each sample' },
    out: { type: 'string', placeholder: 'RUNDIR', description: 'the run folder' },
    config: { type: 'string', placeholder: 'FILE', description: 'settings (JSON or YAML); the flags above override it' },
    quiet: { type: 'boolean', description: 'no progress lines' },
  },
  notes: 'config fields: from, prompts, reward, filter, runDir, tokenizer, format, heldout, heldoutPrompts, beta (0; k3 KL when > 0),\n' +
    'clipRange, logRatioClamp, samplesPerPrompt (the group size G, 8), promptsPerIteration, maxNewTokens, temperature, rowLen,\n' +
    'miniBatchSize, epochs, iterations, maxRunning, maxTokensPerStep, batchSize, lr, minLr, warmupSteps, weightDecay, beta1, beta2,\n' +
    'clip, seed, evalEvery, logEvery.',
  async run(o) {
    const { resolveCommandConfig } = await import('../../train/ppo_config.js');
    const { run, parseGrpoConfig } = await import('../../train/grpo.js');
    const merged = resolveCommandConfig({ from: o.from, prompts: o.prompts, reward: o.reward, out: o.out, config: o.config }, 'hcx grpo', ['from', 'runDir', 'tokenizer'], ['prompts', 'heldoutPrompts']);
    if (typeof o.reward === 'string') merged.reward = o.reward; // a task name, not a path
    for (const [k, flag] of [['from', '--from MODEL'], ['prompts', '--prompts FILE'], ['reward', '--reward TASK'], ['runDir', '--out RUNDIR']]) {
      if (merged[k] === undefined) throw new Error(`hcx grpo: ${flag} is required (or "${k}" in the config file)`);
    }
    const r = await run(parseGrpoConfig(merged, o.config ?? 'hcx grpo'), { quiet: o.quiet });
    const last = r.metrics[r.metrics.length - 1];
    console.log(JSON.stringify({ runDir: r.runDir, checkpoint: r.finalCheckpoint, heldout_before: r.baseline, heldout_after: last?.heldout_score, reward: last?.reward }));
  },
});
