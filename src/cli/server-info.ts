/**
 * `command_line_options` of admin `/server_info`: `envoy.admin.v3.CommandLineOptions`
 * (`envoy/admin/v3/server_info.proto`) in proto3 JSON, as Envoy prints it — every field present
 * (defaults included), fields in declaration order, snake_case names, enums by name, uint64 as a
 * string, durations as `"600s"` / `"1.500s"`. Mirrors `OptionsImpl::toCommandLineOptions()`.
 */
import type { CommandLineOptions } from './types';

/** proto3 JSON of a `google.protobuf.Duration` given in milliseconds: `"10s"`, `"0.250s"`. */
export function durationJson(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  const millis = ms % 1000;
  return millis === 0 ? `${seconds}s` : `${seconds}.${String(millis).padStart(3, '0')}s`;
}

/** JSON value of the `envoy.admin.v3.CommandLineOptions` enum `Mode`. */
const MODES = { serve: 'Serve', validate: 'Validate', init_only: 'InitOnly' } as const;

/** The `/server_info` `command_line_options` object for these options. */
export function toServerInfoCommandLineOptions(o: CommandLineOptions): Record<string, unknown> {
  return {
    base_id: String(o.baseId),
    use_dynamic_base_id: o.useDynamicBaseId,
    skip_hot_restart_on_no_parent: o.skipHotRestartOnNoParent,
    skip_hot_restart_parent_stats: o.skipHotRestartParentStats,
    base_id_path: o.baseIdPath,
    concurrency: o.concurrency,
    config_path: o.configPath,
    config_yaml: o.configYaml,
    allow_unknown_static_fields: o.allowUnknownStaticFields,
    reject_unknown_dynamic_fields: o.rejectUnknownDynamicFields,
    ignore_unknown_dynamic_fields: o.ignoreUnknownDynamicFields,
    admin_address_path: o.adminAddressPath,
    local_address_ip_version: o.localAddressIpVersion,
    log_level: o.logLevel,
    component_log_level: o.componentLogLevel,
    log_format: o.logFormat,
    log_format_escaped: o.logFormatEscaped,
    log_path: o.logPath,
    service_cluster: o.serviceCluster,
    service_node: o.serviceNode,
    service_zone: o.serviceZone,
    file_flush_interval: durationJson(o.fileFlushIntervalMs),
    drain_time: durationJson(o.drainTimeMs),
    drain_strategy: o.drainStrategy === 'immediate' ? 'Immediate' : 'Gradual',
    parent_shutdown_time: durationJson(o.parentShutdownTimeMs),
    mode: MODES[o.mode],
    disable_hot_restart: o.disableHotRestart,
    enable_mutex_tracing: o.enableMutexTracing,
    restart_epoch: o.restartEpoch,
    cpuset_threads: o.cpusetThreads,
    disabled_extensions: [...o.disabledExtensions],
    enable_fine_grain_logging: o.enableFineGrainLogging,
    socket_path: o.socketPath,
    socket_mode: o.socketMode,
    enable_core_dump: o.enableCoreDump,
    stats_tag: o.statsTags.map((t) => `${t.name}:${t.value}`),
  };
}
