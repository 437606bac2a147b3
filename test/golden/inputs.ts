// The golden test's fixed batch: 2 sequences of 16 token ids and their next-token targets.
export function goldenInputs(): { batch: number; time: number; ids: number[]; targets: number[]; lr: number } {
  const ids: number[] = [], targets: number[] = [];
  for (let b = 0; b < 2; b++) for (let t = 0; t < 16; t++) {
    ids.push((b * 31 + t * 7 + t * t) % 64);
    targets.push((b * 31 + (t + 1) * 7 + (t + 1) * (t + 1)) % 64);
  }
  return { batch: 2, time: 16, ids, targets, lr: 1e-3 };
}
