// Runs ../shared/peers/run_torch_llama.sh (PyTorch, Debian's python3-torch) when it is available and
// returns its JSON records; benchmarks call it so the peer runs in the same invocation as hcx.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

export function torchPeerScript(): string | null {
  for (const c of [process.env.HCX_TORCH_PEER, path.resolve('../shared/peers/run_torch_llama.sh'), path.resolve(process.cwd(), 'shared/peers/run_torch_llama.sh')]) {
    if (c && existsSync(c)) return c;
  }
  return null;
}

/**
 * Installs Debian's python3-torch (the bench's --install-peer) with OpenBLAS: without libopenblas0,
 * Debian's torch multiplies through the reference BLAS at about 6 GFLOPS, which no one would compare against.
 */
export function installTorchPeer(): boolean {
  const pkgs = 'python3-torch libopenblas0-pthread';
  const r = spawnSync('sh', ['-c', `apt-get install -y -qq ${pkgs} || (apt-get update -qq && apt-get install -y -qq ${pkgs})`], { stdio: 'inherit' });
  return r.status === 0;
}

export type PeerResult = { ok: true; records: Record<string, unknown>[] } | { ok: false; reason: string };

export function runTorchPeer(args: string[], timeoutMs = 600_000): PeerResult {
  const script = torchPeerScript();
  if (!script) return { ok: false, reason: 'peer script ../shared/peers/run_torch_llama.sh not found' };
  // This machine's environment pins OpenBLAS to an old core type and a tiny L2 size (a workaround
  // for old OpenBLAS builds); both slow PyTorch's BLAS badly. Unset them for the peer alone, so the
  // script applies its own best setting (SkylakeX kernels, passive OpenMP waiting).
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const r = spawnSync('sh', [script, ...args], { encoding: 'utf8', timeout: timeoutMs, env });
  if (r.status === 3) return { ok: false, reason: 'no python3 with torch (run with --install-peer, or apt-get install -y python3-torch)' };
  if (r.status !== 0) return { ok: false, reason: `peer exited with ${r.status ?? r.signal}: ${(r.stderr ?? '').trim().split('\n').pop()}` };
  const records = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  return { ok: true, records };
}
