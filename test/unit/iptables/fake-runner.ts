/**
 * A scripted {@link CommandRunner}: records every command and answers from a handler, so apply
 * and cleanup decisions can be tested without iptables.
 */
import type { CommandRunner, ExecResult } from '../../../src/iptables/runner';

/** One recorded call. */
export interface Call {
  readonly file: string;
  readonly args: readonly string[];
  readonly stdin: string | undefined;
}

/** What the handler may return: a partial result (defaults: exit 0, no output). */
export type Answer = Partial<ExecResult> | undefined;

export class FakeRunner implements CommandRunner {
  readonly calls: Call[] = [];
  constructor(private readonly handler: (call: Call) => Answer) {}

  async run(file: string, args: readonly string[], stdin?: string): Promise<ExecResult> {
    const call = { file, args: [...args], stdin };
    this.calls.push(call);
    const a = this.handler(call) ?? {};
    return { code: a.code ?? 0, stdout: a.stdout ?? '', stderr: a.stderr ?? '', notFound: a.notFound ?? false };
  }

  /** The recorded calls as command lines. */
  lines(): string[] {
    return this.calls.map((c) => [c.file, ...c.args].join(' '));
  }
}

/** `iptables --version` output for nf_tables. */
export const NFT_VERSION = 'iptables v1.8.9 (nf_tables)\n';
