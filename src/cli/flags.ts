/**
 * The table of Envoy's command-line flags (`source/server/options_impl.cc`,
 * https://www.envoyproxy.io/docs/envoy/latest/operations/cli) and what Legate does with each.
 *
 * A flag either sets a field Legate acts on, or carries `ignored`: it is still parsed and
 * validated exactly as Envoy does (so a command line Envoy rejects is rejected here too), then one
 * notice says why it has no effect. A few flags removed from Envoy are accepted the same way,
 * because older pilot-agents still pass them (`istio/istio:pkg/envoy/proxy.go` history).
 */
import type { CommandLineOptions, DrainStrategy, IpVersion, ServerMode } from './types';
import {
  parseChoice, parseComponentLevels, parseLevelValue, parseOctalMode, parseStatsTag, parseUint32,
  type ValueResult,
} from './values';

/** {@link CommandLineOptions} while it is being filled in. */
export type Draft = { -readonly [K in keyof CommandLineOptions]: CommandLineOptions[K] } & {
  /** True once `--concurrency` was given (the CPU-count default applies otherwise). */
  concurrencySet: boolean;
};

/** `value` takes an argument; `switch` takes none; `multi` takes one and may repeat. */
export type FlagKind = 'value' | 'switch' | 'multi';

/** Flags that print something and exit instead of running. */
export type FlagAction = 'help' | 'version' | 'hot-restart-version';

/** One command-line flag. */
export interface FlagSpec {
  /** Long name without the leading `--`. */
  readonly name: string;
  /** Single-letter short name without the `-`, if any. */
  readonly short?: string;
  /** Whether the flag takes a value, and whether it may repeat. */
  readonly kind: FlagKind;
  /** Placeholder shown by `--help` for the value. */
  readonly valueName?: string;
  /** One-line description for `--help`. */
  readonly help: string;
  /** When set, the flag has no effect in Legate and this is the reason given in its notice. */
  readonly ignored?: string;
  /** When set, the flag prints and exits. */
  readonly action?: FlagAction;
  /** Stores the (validated) value into the draft. Returns an error message, or undefined. */
  readonly apply: (draft: Draft, value: string, flag: string) => string | undefined;
}

const NO_HOT_RESTART = 'Legate has no hot restart';
const REMOVED = 'removed from Envoy, accepted for older pilot-agents';

function set<T>(result: ValueResult<T>, store: (value: T) => void): string | undefined {
  if (!result.ok) return result.error;
  store(result.value);
  return undefined;
}

const nothing = (): undefined => undefined;

/** Every flag Legate accepts, in the order `--help` lists them. */
export const FLAGS: readonly FlagSpec[] = [
  // === Configuration ===
  { name: 'config-path', short: 'c', kind: 'value', valueName: 'path',
    help: 'Path to the bootstrap configuration file (.json, .yaml)',
    apply: (d, v) => { d.configPath = v; return undefined; } },
  { name: 'config-yaml', kind: 'value', valueName: 'yaml',
    help: 'Inline YAML (or JSON) bootstrap, merged over the contents of --config-path',
    apply: (d, v) => { d.configYaml = v; return undefined; } },
  { name: 'mode', kind: 'value', valueName: 'serve|validate|init_only',
    help: "'serve' (default), 'validate' (check the configuration and exit) or 'init_only'",
    apply: (d, v, f) => set(parseChoice<ServerMode>(f, v, ['serve', 'validate', 'init_only']), (x) => { d.mode = x; }) },
  { name: 'allow-unknown-static-fields', kind: 'switch',
    help: 'Allow unknown fields in the bootstrap configuration',
    apply: (d) => { d.allowUnknownStaticFields = true; return undefined; } },
  { name: 'allow-unknown-fields', kind: 'switch',
    help: 'Deprecated alias of --allow-unknown-static-fields',
    apply: (d) => { d.allowUnknownStaticFields = true; return undefined; } },
  { name: 'reject-unknown-dynamic-fields', kind: 'switch',
    help: 'Reject (NACK) xDS resources with unknown fields',
    apply: (d) => { d.rejectUnknownDynamicFields = true; return undefined; } },
  { name: 'ignore-unknown-dynamic-fields', kind: 'switch',
    help: 'Accept xDS resources with unknown fields without warning',
    apply: (d) => { d.ignoreUnknownDynamicFields = true; return undefined; } },
  { name: 'skip-deprecated-logs', kind: 'switch',
    help: 'Do not log deprecated-field warnings (Legate logs none anyway)',
    apply: (d) => { d.skipDeprecatedLogs = true; return undefined; } },
  { name: 'service-node', kind: 'value', valueName: 'string',
    help: 'Node id, overrides bootstrap node.id',
    apply: (d, v) => { d.serviceNode = v; return undefined; } },
  { name: 'service-cluster', kind: 'value', valueName: 'string',
    help: 'Local cluster name, overrides bootstrap node.cluster',
    apply: (d, v) => { d.serviceCluster = v; return undefined; } },
  { name: 'service-zone', kind: 'value', valueName: 'string',
    help: 'Zone, overrides bootstrap node.locality.zone',
    apply: (d, v) => { d.serviceZone = v; return undefined; } },
  { name: 'local-address-ip-version', kind: 'value', valueName: 'v4|v6',
    help: "IP version of the server's local address (default v4)",
    apply: (d, v, f) => set(parseChoice<IpVersion>(f, v, ['v4', 'v6']), (x) => { d.localAddressIpVersion = x; }) },
  { name: 'admin-address-path', kind: 'value', valueName: 'path',
    help: 'File to write the admin address to',
    apply: (d, v) => { d.adminAddressPath = v; return undefined; } },

  // === Workers and draining ===
  { name: 'concurrency', kind: 'value', valueName: 'uint32',
    help: 'Number of workers (default: number of CPUs; 0 means 1)',
    apply: (d, v, f) => set(parseUint32(f, v), (x) => { d.concurrency = Math.max(1, x); d.concurrencySet = true; }) },
  { name: 'cpuset-threads', kind: 'switch',
    help: 'Without --concurrency, use the number of CPUs this process may run on',
    apply: (d) => { d.cpusetThreads = true; return undefined; } },
  { name: 'drain-time-s', kind: 'value', valueName: 'uint32',
    help: 'Listener drain time in seconds (default 600)',
    apply: (d, v, f) => set(parseUint32(f, v), (x) => { d.drainTimeMs = x * 1000; }) },
  { name: 'drain-strategy', kind: 'value', valueName: 'gradual|immediate',
    help: "'gradual' (default) or 'immediate': tell every client as soon as draining starts",
    apply: (d, v, f) => set(parseChoice<DrainStrategy>(f, v, ['gradual', 'immediate']), (x) => { d.drainStrategy = x; }) },

  // === Logging ===
  { name: 'log-level', short: 'l', kind: 'value', valueName: 'level',
    help: 'Log level: trace|debug|info|warning|warn|error|critical|off (default info)',
    apply: (d, v, f) => set(parseLevelValue(f, v), (x) => { d.logLevel = x; }) },
  { name: 'component-log-level', kind: 'value', valueName: 'name:level,...',
    help: 'Per-component log levels, e.g. upstream:debug,connection:trace',
    apply: (d, v, f) => set(parseComponentLevels(f, v), (x) => { d.componentLogLevel = v; d.componentLogLevels = x; }) },
  { name: 'log-format', kind: 'value', valueName: 'format',
    help: 'Log line format in spdlog syntax (default "[%Y-%m-%d %T.%e][%t][%l][%n] [%g:%#] %v")',
    apply: (d, v) => { d.logFormat = v; return undefined; } },
  { name: 'log-format-escaped', kind: 'switch',
    help: 'Escape C-style escape sequences in log messages',
    apply: (d) => { d.logFormatEscaped = true; return undefined; } },
  { name: 'log-path', kind: 'value', valueName: 'path',
    help: 'Append logs to this file instead of stderr (re-opened on SIGUSR1)',
    apply: (d, v) => { d.logPath = v; return undefined; } },
  { name: 'enable-fine-grain-logging', kind: 'switch', ignored: 'Legate has per-component loggers only',
    help: 'File-level log control',
    apply: (d) => { d.enableFineGrainLogging = true; return undefined; } },
  { name: 'file-flush-interval-msec', kind: 'value', valueName: 'uint32',
    help: 'Access-log file flush interval in milliseconds (default 10000)',
    apply: (d, v, f) => set(parseUint32(f, v), (x) => { d.fileFlushIntervalMs = x; }) },
  { name: 'file-flush-min-size-kb', kind: 'value', valueName: 'uint32',
    help: 'Access-log file buffer size in KiB that forces a flush (default 64)',
    apply: (d, v, f) => set(parseUint32(f, v), (x) => { d.fileFlushMinSizeKb = x; }) },

  // === Stats and extensions ===
  { name: 'stats-tag', kind: 'multi', valueName: 'name:value',
    help: 'Tag added to every stat',
    apply: (d, v, f) => set(parseStatsTag(f, v), (x) => { d.statsTags = [...d.statsTags, x]; }) },
  { name: 'disable-extensions', kind: 'value', valueName: 'list', ignored: 'Legate cannot disable built-in extensions',
    help: 'Comma-separated extensions to disable',
    apply: (d, v) => { d.disabledExtensions = v === '' ? [] : v.split(','); return undefined; } },

  // === Hot restart (Legate has none) ===
  { name: 'disable-hot-restart', kind: 'switch', ignored: NO_HOT_RESTART, help: 'Disable hot restart',
    apply: (d) => { d.disableHotRestart = true; return undefined; } },
  { name: 'parent-shutdown-time-s', kind: 'value', valueName: 'uint32', ignored: NO_HOT_RESTART,
    help: 'Hot restart parent shutdown time in seconds (default 900)',
    apply: (d, v, f) => set(parseUint32(f, v), (x) => { d.parentShutdownTimeMs = x * 1000; }) },
  { name: 'restart-epoch', kind: 'value', valueName: 'uint32', ignored: NO_HOT_RESTART, help: 'Hot restart epoch',
    apply: (d, v, f) => set(parseUint32(f, v), (x) => { d.restartEpoch = x; }) },
  { name: 'base-id', kind: 'value', valueName: 'uint32', ignored: NO_HOT_RESTART, help: 'Hot restart shared memory base id',
    apply: (d, v, f) => set(parseUint32(f, v), (x) => { d.baseId = x; }) },
  { name: 'use-dynamic-base-id', kind: 'switch', ignored: NO_HOT_RESTART, help: 'Choose the base id dynamically',
    apply: (d) => { d.useDynamicBaseId = true; return undefined; } },
  { name: 'base-id-path', kind: 'value', valueName: 'path', ignored: NO_HOT_RESTART, help: 'File to write the base id to',
    apply: (d, v) => { d.baseIdPath = v; return undefined; } },
  { name: 'skip-hot-restart-on-no-parent', kind: 'switch', ignored: NO_HOT_RESTART,
    help: 'Skip hot restart when no parent is running',
    apply: (d) => { d.skipHotRestartOnNoParent = true; return undefined; } },
  { name: 'skip-hot-restart-parent-stats', kind: 'switch', ignored: NO_HOT_RESTART,
    help: "Do not take over the parent's stats",
    apply: (d) => { d.skipHotRestartParentStats = true; return undefined; } },
  { name: 'socket-path', kind: 'value', valueName: 'path', ignored: NO_HOT_RESTART, help: 'Hot restart socket path',
    apply: (d, v) => { d.socketPath = v; return undefined; } },
  { name: 'socket-mode', kind: 'value', valueName: 'octal', ignored: NO_HOT_RESTART, help: 'Hot restart socket file mode',
    apply: (d, v, f) => set(parseOctalMode(f, v), (x) => { d.socketMode = x; }) },
  { name: 'hot-restart-version', kind: 'switch', action: 'hot-restart-version',
    help: 'Print the hot restart compatibility version ("disabled") and exit', apply: nothing },

  // === Diagnostics ===
  { name: 'enable-mutex-tracing', kind: 'switch', ignored: 'Legate has no mutexes to trace',
    help: 'Mutex contention tracing',
    apply: (d) => { d.enableMutexTracing = true; return undefined; } },
  { name: 'enable-core-dump', kind: 'switch', ignored: 'Node.js cannot raise the core file limit; set it with ulimit -c',
    help: 'Enable core dumps',
    apply: (d) => { d.enableCoreDump = true; return undefined; } },

  // === Removed from Envoy ===
  { name: 'bootstrap-version', kind: 'value', valueName: 'uint32', ignored: `${REMOVED}; Legate reads v3 only`,
    help: 'Bootstrap API version', apply: (_d, v, f) => set(parseUint32(f, v), nothing) },
  { name: 'log-format-prefix-with-location', kind: 'value', valueName: '0|1', ignored: REMOVED,
    help: 'Prefix %v with [%g:%#]', apply: (_d, v, f) => set(parseChoice(f, v, ['0', '1']), nothing) },
  { name: 'use-fake-symbol-table', kind: 'value', valueName: '0|1', ignored: REMOVED,
    help: 'Stats symbol table implementation', apply: (_d, v, f) => set(parseChoice(f, v, ['0', '1', 'true', 'false']), nothing) },
  { name: 'max-obj-name-len', kind: 'value', valueName: 'uint64', ignored: REMOVED,
    help: 'Maximum object name length', apply: (_d, v, f) => set(parseUint32(f, v), nothing) },
  { name: 'max-stats', kind: 'value', valueName: 'uint64', ignored: REMOVED,
    help: 'Maximum number of stats', apply: (_d, v, f) => set(parseUint32(f, v), nothing) },

  // === Information ===
  { name: 'version', kind: 'switch', action: 'version', help: 'Print the version and exit', apply: nothing },
  { name: 'help', short: 'h', kind: 'switch', action: 'help', help: 'Print this help and exit', apply: nothing },
];

const BY_LONG = new Map(FLAGS.map((f) => [f.name, f]));
const BY_SHORT = new Map(FLAGS.filter((f) => f.short !== undefined).map((f) => [f.short!, f]));

/** Looks a flag up by `--long` or `-s` name (without the dashes). */
export function findFlag(name: string, isShort: boolean): FlagSpec | undefined {
  return isShort ? BY_SHORT.get(name) : BY_LONG.get(name);
}
