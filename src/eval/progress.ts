// Evaluation draws progress with the project's one progress display (src/util/progress.ts).
export { Progress } from '../util/progress.js';
