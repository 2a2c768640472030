/**
 * The parsed command line: Envoy's flags (`source/server/options_impl.cc`) as plain readonly data.
 * Every field documents its flag, its default, and whether Legate acts on it; the table of flags
 * lives in `flags.ts`.
 */
import type { LogLevel } from '../common/logger';

/** `--mode`: `serve` runs; `validate` checks the config and exits; `init_only` initialises and exits. */
export type ServerMode = 'serve' | 'validate' | 'init_only';

/** `--drain-strategy`. */
export type DrainStrategy = 'gradual' | 'immediate';

/** `--local-address-ip-version`. */
export type IpVersion = 'v4' | 'v6';

/** One `--stats-tag name:value`. */
export interface StatsTag {
  /** Tag name: letters, digits and `_` only. */
  readonly name: string;
  /** Tag value: anything but `.`. */
  readonly value: string;
}

/** Options from the command line, with Envoy's defaults filled in. */
export interface CommandLineOptions {
  /** `-c/--config-path`; `''` when unset. Bootstrap file (`.json`, `.yaml`, `.yml`). */
  readonly configPath: string;
  /** `--config-yaml`; `''` when unset. Merged over the file's bootstrap by the bootstrap loader. */
  readonly configYaml: string;
  /** `--mode`; default `serve`. */
  readonly mode: ServerMode;
  /** `-l/--log-level`, canonical (`warn` becomes `warning`); default `info`. */
  readonly logLevel: LogLevel;
  /** `--component-log-level` exactly as given (reported by `/server_info`); default `''`. */
  readonly componentLogLevel: string;
  /** `--component-log-level` parsed into `[component, level]` pairs, in order. */
  readonly componentLogLevels: ReadonlyArray<readonly [string, LogLevel]>;
  /** `--log-format`; default Envoy's `[%Y-%m-%d %T.%e][%t][%l][%n] [%g:%#] %v`. */
  readonly logFormat: string;
  /** `--log-format-escaped`; default false. */
  readonly logFormatEscaped: boolean;
  /** `--log-path`; `''` (default) logs to stderr. */
  readonly logPath: string;
  /**
   * `--concurrency`, effective value: at least 1 (Envoy runs one worker for 0). Default: number
   * of CPUs, or of CPUs this process may run on with `--cpuset-threads`.
   */
  readonly concurrency: number;
  /** `--drain-time-s` in milliseconds; default 600 s. Listener drain on shutdown and LDS removal. */
  readonly drainTimeMs: number;
  /** `--drain-strategy`; default `gradual`. `immediate` signals every client at drain start. */
  readonly drainStrategy: DrainStrategy;
  /** `--parent-shutdown-time-s` in milliseconds; default 900 s. Hot restart only: unused. */
  readonly parentShutdownTimeMs: number;
  /** `--service-node`: overrides bootstrap `node.id` when non-empty; default `''`. */
  readonly serviceNode: string;
  /** `--service-cluster`: overrides bootstrap `node.cluster` when non-empty; default `''`. */
  readonly serviceCluster: string;
  /** `--service-zone`: overrides bootstrap `node.locality.zone` when non-empty; default `''`. */
  readonly serviceZone: string;
  /** `--local-address-ip-version`; default `v4`. Family of the server's local address. */
  readonly localAddressIpVersion: IpVersion;
  /** `--allow-unknown-static-fields` (or deprecated `--allow-unknown-fields`); default false. */
  readonly allowUnknownStaticFields: boolean;
  /** `--reject-unknown-dynamic-fields`; default false (unknown xDS fields are accepted). */
  readonly rejectUnknownDynamicFields: boolean;
  /** `--ignore-unknown-dynamic-fields`; default false (unknown xDS fields are warned about). */
  readonly ignoreUnknownDynamicFields: boolean;
  /** `--skip-deprecated-logs`; default false. Legate logs no deprecation warnings either way. */
  readonly skipDeprecatedLogs: boolean;
  /** `--file-flush-interval-msec`; default 10000. Flush period of access-log files. */
  readonly fileFlushIntervalMs: number;
  /** `--file-flush-min-size-kb`; default 64. Access-log file buffer size that forces a flush. */
  readonly fileFlushMinSizeKb: number;
  /** `--admin-address-path`; `''` when unset. File the admin listener's address is written to. */
  readonly adminAddressPath: string;
  /** `--stats-tag`, repeatable: tags added to every stat. */
  readonly statsTags: readonly StatsTag[];
  /** `--disable-extensions`, split on `,`; default empty. Accepted, not acted on. */
  readonly disabledExtensions: readonly string[];
  /** `--cpuset-threads`; default false. Only changes the default of `concurrency`. */
  readonly cpusetThreads: boolean;
  /** `--base-id`; default 0. Hot restart only: unused. */
  readonly baseId: number;
  /** `--use-dynamic-base-id`; default false. Hot restart only: unused. */
  readonly useDynamicBaseId: boolean;
  /** `--base-id-path`; default `''`. Hot restart only: unused. */
  readonly baseIdPath: string;
  /** `--restart-epoch`; default 0. Hot restart only: unused. */
  readonly restartEpoch: number;
  /** `--disable-hot-restart`; default false. Legate never hot restarts. */
  readonly disableHotRestart: boolean;
  /** `--skip-hot-restart-on-no-parent`; default false. Hot restart only: unused. */
  readonly skipHotRestartOnNoParent: boolean;
  /** `--skip-hot-restart-parent-stats`; default false. Hot restart only: unused. */
  readonly skipHotRestartParentStats: boolean;
  /** `--socket-path`; default `@envoy_domain_socket`. Hot restart only: unused. */
  readonly socketPath: string;
  /** `--socket-mode` (octal); default 0o600, reported as 0 for an abstract `@` socket path. */
  readonly socketMode: number;
  /** `--enable-mutex-tracing`; default false. Unused. */
  readonly enableMutexTracing: boolean;
  /** `--enable-core-dump`; default false. Unused. */
  readonly enableCoreDump: boolean;
  /** `--enable-fine-grain-logging`; default false. Unused. */
  readonly enableFineGrainLogging: boolean;
}

/** Result of {@link parseCommandLine}. */
export interface ParseResult {
  /** Parsed options; defaults where a flag is absent. Meaningless when `errors` is not empty. */
  readonly options: CommandLineOptions;
  /** One line per flag accepted but not acted on, e.g. `flag --disable-hot-restart accepted and ignored: Legate has no hot restart`. */
  readonly notices: readonly string[];
  /** One line per problem, naming the flag. Non-empty means: print them and exit 1. */
  readonly errors: readonly string[];
  /** Set for `--help`, `--version`, `--hot-restart-version`: print `output` to stdout and exit with `code`. */
  readonly exit?: { readonly code: number; readonly output: string };
}
