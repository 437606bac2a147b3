// Public API of the evaluation harness (re-exported from src/index.ts as `evaluation`).
export { evaluate, evaluateTask, type EvalResults, type TaskResult, type SampleRecord } from './runner.js';
export { loadSpecs, selectTasks, loadTask } from './task.js';
export { validateSpec, type TaskSpec } from './spec.js';
export { TokenLMAdapter, type EvalModel, type TokenLM } from './model.js';
export { loadModel, registerEngine } from './backends/index.js';
export { OpenAIModel } from './backends/openai.js';
export { serve } from './serve.js';
export { runPython, detectIsolation } from './sandbox.js';
export { RequestCache } from './cache.js';
export { writeResults, markdownTable } from './report.js';
export * as metrics from './metrics.js';
export { corpusBleu, corpusChrf } from './translation.js';
