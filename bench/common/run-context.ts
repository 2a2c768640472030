/**
 * What a benchmark report states about the run it measured: the commit (with `-dirty` when the
 * working tree has uncommitted changes to tracked files) and the machine.
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { repoRoot } from '../../test/fakes/repo-root';

/** `git rev-parse --short HEAD`, plus `-dirty` for uncommitted changes; `unknown` outside git. */
export function gitCommit(): string {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot(), encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: repoRoot(), encoding: 'utf8' }).trim() !== '';
    return dirty ? `${sha}-dirty` : sha;
  } catch {
    return 'unknown';
  }
}

/** CPU model, core count and kernel: `Intel(R) Xeon(R) Processor × 2 cores, linux 6.1.0`. */
export function machine(): string {
  const cpus = os.cpus();
  return `${cpus[0]?.model.trim() ?? 'unknown CPU'} × ${cpus.length} cores, ${os.platform()} ${os.release()}`;
}
