/**
 * The benchmark backend (bench/servers/h2-grpc-echo.ts) as its own process, so
 * its CPU is billed to no one else; asks it over IPC how many calls it served.
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from '../../test/fakes/repo-root';

export interface BackendProcess {
  readonly child: ChildProcess;
  readonly port: number;
  /** Calls answered so far (a server-streaming call counts once). */
  requests(): Promise<number>;
  stop(): void;
}

export async function startBackend(): Promise<BackendProcess> {
  const script = path.join(repoRoot(), 'dist', 'bench', 'servers', 'h2-grpc-echo.js');
  const child = fork(script, ['--port', '0'], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve, reject) => {
    let buffered = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      const line = buffered.split('\n')[0];
      if (buffered.includes('\n') && line !== undefined) resolve((JSON.parse(line) as { port: number }).port);
    });
    child.once('exit', (code) => reject(new Error(`backend exited early (code ${code})`)));
  });
  return {
    child,
    port,
    requests: () =>
      new Promise<number>((resolve) => {
        child.once('message', (m) => resolve((m as { requests: number }).requests));
        child.send('stats');
      }),
    stop: () => {
      child.kill('SIGTERM');
    },
  };
}
