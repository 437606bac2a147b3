// `hcx bench gemm`: fp32/bf16 GEMM throughput against the machine's measured peak and OpenBLAS/numpy.
export async function run(_argv: string[]): Promise<void> {
  throw new Error('hcx bench gemm: not built yet');
}
