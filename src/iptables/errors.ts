/**
 * Why applying or removing the capture rules failed. Each error has a stable code and a message
 * that says what to do; `command.ts` alone turns them into output and an exit code.
 */

/** Base class: `code` is stable, the message is for people. */
export abstract class IptablesError extends Error {
  abstract readonly code: string;
}

/** iptables (or iptables-save / -restore), ip or nsenter is not installed. */
export class ToolNotFoundError extends IptablesError {
  readonly code = 'TOOL_NOT_FOUND';
  constructor(readonly tool: string, hint: string) {
    super(`${tool} not found: ${hint}`);
  }
}

/** The tool ran but the kernel refused: we are not root / lack CAP_NET_ADMIN in this namespace. */
export class PermissionDeniedError extends IptablesError {
  readonly code = 'PERMISSION_DENIED';
  constructor(readonly command: string, readonly stderr: string) {
    super(
      `${command}: permission denied (${firstLine(stderr)}). legate iptables must run as root, or with ` +
      'CAP_NET_ADMIN and CAP_NET_RAW, in the pod\'s network namespace (an init container with ' +
      'securityContext.capabilities.add: [NET_ADMIN, NET_RAW] and runAsUser: 0)',
    );
  }
}

/** A command failed for another reason; the tool's own message is kept. */
export class CommandFailedError extends IptablesError {
  readonly code = 'COMMAND_FAILED';
  constructor(readonly command: string, readonly exitCode: number, readonly stderr: string) {
    super(`${command} failed (exit ${exitCode}): ${stderr.trim() || 'no output'}`);
  }
}

/** Rules or chains of ours are still there after a cleanup. */
export class CleanupIncompleteError extends IptablesError {
  readonly code = 'CLEANUP_INCOMPLETE';
  constructor(readonly leftovers: readonly string[]) {
    super(`cleanup left rules or chains behind: ${leftovers.join('; ')}`);
  }
}

/** True when stderr says the kernel refused for lack of privilege. */
export function isPermissionProblem(stderr: string): boolean {
  return /permission denied|you must be root|operation not permitted|EPERM/i.test(stderr);
}

function firstLine(s: string): string {
  return s.trim().split('\n')[0] ?? '';
}
