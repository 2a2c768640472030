import t from 'tap';
import { parseCommandLine, toServerInfoCommandLineOptions } from '../../../src/cli/options';
import { durationJson } from '../../../src/cli/server-info';

t.test('durations are proto3 JSON strings', async (t) => {
  t.equal(durationJson(10_000), '10s');
  t.equal(durationJson(0), '0s');
  t.equal(durationJson(1500), '1.500s');
  t.equal(durationJson(250), '0.250s');
});

t.test('defaults map to envoy.admin.v3.CommandLineOptions JSON, every field present', async (t) => {
  const { options } = parseCommandLine(['-c', '/etc/envoy.yaml'], { cpus: 4 });
  t.strictSame(toServerInfoCommandLineOptions(options), {
    base_id: '0',
    use_dynamic_base_id: false,
    skip_hot_restart_on_no_parent: false,
    skip_hot_restart_parent_stats: false,
    base_id_path: '',
    concurrency: 4,
    config_path: '/etc/envoy.yaml',
    config_yaml: '',
    allow_unknown_static_fields: false,
    reject_unknown_dynamic_fields: false,
    ignore_unknown_dynamic_fields: false,
    admin_address_path: '',
    local_address_ip_version: 'v4',
    log_level: 'info',
    component_log_level: '',
    log_format: '[%Y-%m-%d %T.%e][%t][%l][%n] [%g:%#] %v',
    log_format_escaped: false,
    log_path: '',
    service_cluster: '',
    service_node: '',
    service_zone: '',
    file_flush_interval: '10s',
    drain_time: '600s',
    drain_strategy: 'Gradual',
    parent_shutdown_time: '900s',
    mode: 'Serve',
    disable_hot_restart: false,
    enable_mutex_tracing: false,
    restart_epoch: 0,
    cpuset_threads: false,
    disabled_extensions: [],
    enable_fine_grain_logging: false,
    socket_path: '@envoy_domain_socket',
    socket_mode: 0,
    enable_core_dump: false,
    stats_tag: [],
  });
});

t.test('pilot-agent\'s options as /server_info reports them', async (t) => {
  const { options, errors } = parseCommandLine([
    '-c', '/etc/istio/proxy/envoy-rev.json', '--drain-time-s', '45', '--drain-strategy', 'immediate',
    '--local-address-ip-version', 'v6', '--file-flush-interval-msec', '1500', '--disable-hot-restart',
    '--allow-unknown-static-fields', '-l', 'warn', '--component-log-level', 'misc:error',
    '--concurrency', '2', '--mode', 'init_only', '--stats-tag', 'mesh:m1', '--base-id', '7',
  ]);
  t.same(errors, []);
  const json = toServerInfoCommandLineOptions(options);
  t.match(json, {
    base_id: '7',
    concurrency: 2,
    config_path: '/etc/istio/proxy/envoy-rev.json',
    allow_unknown_static_fields: true,
    local_address_ip_version: 'v6',
    log_level: 'warning',
    component_log_level: 'misc:error',
    file_flush_interval: '1.500s',
    drain_time: '45s',
    drain_strategy: 'Immediate',
    mode: 'InitOnly',
    disable_hot_restart: true,
    stats_tag: ['mesh:m1'],
  });
  t.equal(JSON.parse(JSON.stringify(json)).mode, 'InitOnly', 'plain JSON');
  t.equal(toServerInfoCommandLineOptions(parseCommandLine(['-c', 'x', '--mode', 'validate']).options).mode, 'Validate');
});
