// Learning-rate schedule: linear warmup, then cosine decay to a floor.
export interface CosineSchedule {
  maxLr: number;
  /** Floor reached at totalSteps (default maxLr / 10). */
  minLr?: number;
  warmupSteps: number;
  totalSteps: number;
}

/** Learning rate for step (0-based). */
export function cosineLr(s: CosineSchedule, step: number): number {
  const minLr = s.minLr ?? s.maxLr / 10;
  if (step < s.warmupSteps) return (s.maxLr * (step + 1)) / s.warmupSteps;
  if (step >= s.totalSteps) return minLr;
  const progress = (step - s.warmupSteps) / Math.max(1, s.totalSteps - s.warmupSteps);
  return minLr + 0.5 * (s.maxLr - minLr) * (1 + Math.cos(Math.PI * progress));
}
