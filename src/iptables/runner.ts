/**
 * Running the system tools (iptables*, ip, nsenter): one small interface, so the apply logic can
 * be driven by a fake in unit tests, and so `--network-namespace` is one wrapper.
 */
import { spawn } from 'node:child_process';

/** What a finished command left behind. */
export interface ExecResult {
  /** Exit status; -1 when the process could not be started. */
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** The executable was not found (ENOENT on spawn). */
  readonly notFound: boolean;
}

/** Runs one command to completion. Never rejects: failures are in the result. */
export interface CommandRunner {
  run(file: string, args: readonly string[], stdin?: string): Promise<ExecResult>;
}

/** Runs commands as child processes, with a fixed PATH fallback for sbin tools. */
export const systemRunner: CommandRunner = {
  run(file, args, stdin) {
    return new Promise((resolve) => {
      // iptables and ip live in /usr/sbin, which a non-login PATH may lack.
      const path = process.env['PATH'] ?? '';
      const env = { ...process.env, PATH: path.includes('/usr/sbin') ? path : `${path}:/usr/sbin:/sbin` };
      const child = spawn(file, [...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      let settled = false;
      const done = (r: ExecResult) => {
        if (!settled) { settled = true; resolve(r); }
      };
      child.on('error', (err: NodeJS.ErrnoException) => {
        done({ code: -1, stdout, stderr: stderr || err.message, notFound: err.code === 'ENOENT' });
      });
      child.on('close', (code, signal) => {
        done({ code: code ?? (signal ? 128 : -1), stdout, stderr, notFound: false });
      });
      child.stdin.on('error', () => undefined); // the tool may exit before reading everything
      child.stdin.end(stdin ?? '');
    });
  },
};

/**
 * Runs every command inside the network namespace at `nsPath` (istio's `--network-namespace`),
 * through `nsenter --net=<path>`.
 */
export function inNetworkNamespace(inner: CommandRunner, nsPath: string): CommandRunner {
  return {
    async run(file, args, stdin) {
      const r = await inner.run('nsenter', [`--net=${nsPath}`, '--', file, ...args], stdin);
      if (r.notFound) return { ...r, stderr: 'nsenter not found (package util-linux); it is needed for --network-namespace' };
      // nsenter exits 127 (or 126) when it cannot exec the tool itself.
      if ((r.code === 127 || r.code === 126) && /No such file|not found/i.test(r.stderr)) return { ...r, notFound: true };
      return r;
    },
  };
}

/** `file arg arg...` for messages. */
export function commandLine(file: string, args: readonly string[]): string {
  return [file, ...args].join(' ');
}
