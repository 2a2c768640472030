/**
 * Shared plumbing for the resource decoders: they read normalized proto objects
 * (see src/proto/proto-json.ts) and turn them into readonly models, collecting every
 * problem with the field path where it was found instead of stopping at the first.
 */

/** A decoded proto message in normalized form (snake_case keys, durations in ms, Any as {"@type", ...}). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ProtoObj = Record<string, any>;

export interface ConfigIssue {
  readonly path: string;
  readonly message: string;
}

export class DecodeContext {
  readonly errors: ConfigIssue[] = [];
  readonly warnings: ConfigIssue[] = [];

  error(path: string, message: string): void {
    this.errors.push({ path, message });
  }

  warn(path: string, message: string): void {
    this.warnings.push({ path, message });
  }

  get ok(): boolean {
    return this.errors.length === 0;
  }
}

/** Renders an issue as `path: message`. */
export function formatIssue(issue: ConfigIssue): string {
  return issue.path ? `${issue.path}: ${issue.message}` : issue.message;
}

/** Milliseconds from a normalized Duration, or the default when absent. */
export function durationMs(value: unknown, dflt: number): number {
  return typeof value === 'number' ? value : dflt;
}

export function typeUrlName(any: ProtoObj | undefined): string {
  const url = String(any?.['@type'] ?? '');
  return url.slice(url.lastIndexOf('/') + 1);
}

export const TYPE_PREFIX = 'type.googleapis.com/';
