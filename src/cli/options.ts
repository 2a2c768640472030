/**
 * Envoy's command line, parsed the way Envoy's TCLAP parser does (`source/server/options_impl.cc`):
 * `--flag value`, `--flag=value`, `-c value`, `-c=value`; a value flag takes the next argument
 * whatever it looks like; a flag given twice, an unknown flag, or a positional argument is an
 * error; `--` ends parsing and the rest is ignored. Unlike TCLAP, every error is reported, not
 * only the first.
 *
 * pilot-agent's command line (`istio/istio:pkg/envoy/proxy.go`) parses with no errors.
 */
import { availableParallelism, cpus } from 'node:os';
import { DEFAULT_LOG_FORMAT } from '../common/logger';
import { findFlag, type Draft, type FlagSpec } from './flags';
import type { CommandLineOptions, ParseResult } from './types';
import { usageText } from './usage';
import { versionOutput } from './version';

export type { CommandLineOptions, DrainStrategy, IpVersion, ParseResult, ServerMode, StatsTag } from './types';
export { toServerInfoCommandLineOptions } from './server-info';

/** Host facts that decide defaults; injectable for tests. */
export interface HostInfo {
  /** Hardware threads (Envoy's `std::thread::hardware_concurrency()`); default `os.cpus().length`. */
  readonly cpus?: number;
  /** CPUs this process may run on (`--cpuset-threads`); default `os.availableParallelism()`. */
  readonly cpusetCpus?: number;
}

/** Envoy's defaults, before any flag is applied. `concurrency` is filled in after parsing. */
function defaults(): Draft {
  return {
    configPath: '', configYaml: '', mode: 'serve',
    logLevel: 'info', componentLogLevel: '', componentLogLevels: [], logFormat: DEFAULT_LOG_FORMAT,
    logFormatEscaped: false, logPath: '',
    concurrency: 1, concurrencySet: false, cpusetThreads: false,
    drainTimeMs: 600_000, drainStrategy: 'gradual', parentShutdownTimeMs: 900_000,
    serviceNode: '', serviceCluster: '', serviceZone: '', localAddressIpVersion: 'v4',
    allowUnknownStaticFields: false, rejectUnknownDynamicFields: false, ignoreUnknownDynamicFields: false,
    skipDeprecatedLogs: false, fileFlushIntervalMs: 10_000, fileFlushMinSizeKb: 64, adminAddressPath: '',
    statsTags: [], disabledExtensions: [],
    baseId: 0, useDynamicBaseId: false, baseIdPath: '', restartEpoch: 0, disableHotRestart: false,
    skipHotRestartOnNoParent: false, skipHotRestartParentStats: false,
    socketPath: '@envoy_domain_socket', socketMode: 0o600,
    enableMutexTracing: false, enableCoreDump: false, enableFineGrainLogging: false,
  };
}

/** The options Envoy runs with when given no flags (with the host's CPU count). */
export function defaultCommandLineOptions(host: HostInfo = {}): CommandLineOptions {
  return finish(defaults(), host);
}

/**
 * Parses Envoy's command line.
 * @param argv the arguments after the program name (`process.argv.slice(2)`).
 * @param host CPU counts for the `--concurrency` default; read from the OS when omitted.
 * @returns options with defaults filled in, one notice per accepted-but-ignored flag, every error
 *   found (each naming its flag), and `exit` for `--help`, `--version` and `--hot-restart-version`.
 */
export function parseCommandLine(argv: readonly string[], host: HostInfo = {}): ParseResult {
  const draft = defaults();
  const notices: string[] = [];
  const errors: string[] = [];
  const seen = new Set<FlagSpec>();
  let hotRestartVersion = false;

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--' || arg === '--ignore_rest') {
      const rest = argv.slice(i + 1);
      if (rest.length > 0) notices.push(`arguments after ${arg} ignored: ${rest.join(' ')}`);
      break;
    }
    const isLong = arg.startsWith('--');
    if (!isLong && !(arg.startsWith('-') && arg.length > 1)) {
      errors.push(`unexpected argument ${JSON.stringify(arg)}: Envoy takes no positional arguments`);
      continue;
    }
    const body = arg.slice(isLong ? 2 : 1);
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    const inline = eq < 0 ? undefined : body.slice(eq + 1);
    const label = `${isLong ? '--' : '-'}${name}`;
    const spec = findFlag(name, !isLong);
    if (spec === undefined) {
      errors.push(`unknown flag ${label}`);
      continue;
    }
    if (seen.has(spec) && spec.kind !== 'multi') {
      errors.push(`${label}: given more than once`);
      if (spec.kind !== 'switch' && inline === undefined) i++; // skip its value too
      continue;
    }
    seen.add(spec);

    let value = '';
    if (spec.kind === 'switch') {
      if (inline !== undefined) {
        errors.push(`${label}: takes no value, got ${JSON.stringify(inline)}`);
        continue;
      }
    } else if (inline !== undefined) {
      value = inline;
    } else if (i + 1 < argv.length) {
      value = argv[++i]!;
    } else {
      errors.push(`${label}: missing value`);
      continue;
    }

    if (spec.action === 'help' || spec.action === 'version') {
      // TCLAP prints and exits as soon as it meets these; earlier errors win.
      if (errors.length > 0) continue;
      const output = spec.action === 'help' ? usageText() : versionOutput();
      return { options: finish(draft, host), notices, errors, exit: { code: 0, output } };
    }
    if (spec.action === 'hot-restart-version') hotRestartVersion = true;

    const error = spec.apply(draft, value, label);
    if (error !== undefined) {
      errors.push(error);
      continue;
    }
    if (spec.ignored !== undefined) notices.push(`flag --${spec.name} accepted and ignored: ${spec.ignored}`);
    if (spec.name === 'allow-unknown-fields') {
      notices.push('flag --allow-unknown-fields is deprecated, use --allow-unknown-static-fields instead');
    }
  }

  if (draft.useDynamicBaseId && draft.restartEpoch > 0) {
    errors.push(`--use-dynamic-base-id: cannot be used with --restart-epoch=${draft.restartEpoch}`);
  }
  if (draft.concurrencySet && draft.cpusetThreads) {
    notices.push('both --concurrency and --cpuset-threads are set; not applying --cpuset-threads');
  }
  const options = finish(draft, host);
  if (errors.length === 0 && hotRestartVersion) {
    // Envoy prints its hot restart version; with hot restart compiled out it prints "disabled".
    return { options, notices, errors, exit: { code: 0, output: 'disabled\n' } };
  }
  if (errors.length === 0 && options.configPath === '' && options.configYaml === '') {
    errors.push('one of --config-path (-c) or --config-yaml is required');
  }
  return { options, notices, errors };
}

/** Fills in the values that depend on other flags or on the host, and freezes the result. */
function finish(draft: Draft, host: HostInfo): CommandLineOptions {
  const { concurrencySet, ...options } = draft;
  if (!concurrencySet) {
    // os.cpus() can be empty (some containers, /proc hidden): fall back to the affinity count.
    const n = draft.cpusetThreads
      ? (host.cpusetCpus ?? availableParallelism())
      : (host.cpus ?? (cpus().length || availableParallelism()));
    options.concurrency = Math.max(1, n);
  }
  // Envoy reports mode 0 for an abstract (@) socket path, which has no file mode.
  if (options.socketPath.startsWith('@')) options.socketMode = 0;
  Object.freeze(options.statsTags);
  Object.freeze(options.componentLogLevels);
  Object.freeze(options.disabledExtensions);
  return Object.freeze(options);
}
