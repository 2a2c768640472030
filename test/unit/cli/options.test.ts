import t from 'tap';
import { defaultCommandLineOptions, parseCommandLine, type CommandLineOptions } from '../../../src/cli/options';
import { FLAGS } from '../../../src/cli/flags';

const HOST = { cpus: 8, cpusetCpus: 3 };
const CFG = ['-c', 'envoy.yaml'];

/** Parses with a config path so the "config required" check stays quiet. */
function parse(...args: string[]) {
  return parseCommandLine([...CFG, ...args], HOST);
}

t.test('defaults are Envoy\'s', async (t) => {
  const r = parseCommandLine(['--config-yaml', 'node: {id: n}'], HOST);
  t.same(r.errors, []);
  t.same(r.notices, []);
  t.equal(r.exit, undefined);
  const o = r.options;
  t.equal(o.configPath, '');
  t.equal(o.configYaml, 'node: {id: n}');
  t.equal(o.mode, 'serve');
  t.equal(o.logLevel, 'info');
  t.equal(o.componentLogLevel, '');
  t.same(o.componentLogLevels, []);
  t.equal(o.logFormat, '[%Y-%m-%d %T.%e][%t][%l][%n] [%g:%#] %v');
  t.equal(o.logFormatEscaped, false);
  t.equal(o.logPath, '');
  t.equal(o.concurrency, 8, 'number of CPUs');
  t.equal(o.drainTimeMs, 600_000);
  t.equal(o.drainStrategy, 'gradual');
  t.equal(o.parentShutdownTimeMs, 900_000);
  t.equal(o.localAddressIpVersion, 'v4');
  t.equal(o.fileFlushIntervalMs, 10_000);
  t.equal(o.fileFlushMinSizeKb, 64);
  t.equal(o.socketPath, '@envoy_domain_socket');
  t.equal(o.socketMode, 0, 'abstract socket has no mode');
  t.equal(o.allowUnknownStaticFields, false);
  t.equal(o.disableHotRestart, false);
  t.same(o.statsTags, []);
  t.ok(Object.isFrozen(o));
  t.same(defaultCommandLineOptions(HOST), { ...o, configYaml: '' });
});

t.test('pilot-agent\'s command line parses with no errors', async (t) => {
  // istio/istio:pkg/envoy/proxy.go args() + NewProxy() extra args, and the test vector of proxy_test.go.
  const argv = [
    '-c', '/etc/istio/proxy/envoy-rev.json',
    '--drain-time-s', '45',
    '--drain-strategy', 'immediate',
    '--local-address-ip-version', 'v4',
    '--file-flush-interval-msec', '1000',
    '--disable-hot-restart',
    '--allow-unknown-static-fields',
    '-l', 'warning',
    '--component-log-level', 'misc:error',
    '--skip-deprecated-logs',
    '--enable-core-dump',
    '--config-yaml', '{"key":"value"}',
    '--concurrency', '2',
  ];
  const r = parseCommandLine(argv, HOST);
  t.same(r.errors, []);
  t.equal(r.exit, undefined);
  t.same(r.notices, [
    'flag --disable-hot-restart accepted and ignored: Legate has no hot restart',
    'flag --enable-core-dump accepted and ignored: Node.js cannot raise the core file limit; set it with ulimit -c',
  ]);
  const o = r.options;
  t.equal(o.configPath, '/etc/istio/proxy/envoy-rev.json');
  t.equal(o.configYaml, '{"key":"value"}');
  t.equal(o.drainTimeMs, 45_000);
  t.equal(o.drainStrategy, 'immediate');
  t.equal(o.localAddressIpVersion, 'v4');
  t.equal(o.fileFlushIntervalMs, 1000);
  t.equal(o.disableHotRestart, true);
  t.equal(o.allowUnknownStaticFields, true);
  t.equal(o.logLevel, 'warning');
  t.same(o.componentLogLevels, [['misc', 'error']]);
  t.equal(o.skipDeprecatedLogs, true);
  t.equal(o.concurrency, 2);
});

t.test('older pilot-agent flags are accepted with notices', async (t) => {
  const r = parse('--restart-epoch', '0', '--parent-shutdown-time-s', '60', '--service-cluster', 'istio-proxy',
    '--service-node', 'sidecar~10.0.0.1~pod.ns~ns.svc.cluster.local', '--bootstrap-version', '3',
    '--log-format-prefix-with-location', '0', '--max-obj-name-len', '189',
    '--log-format', '%Y-%m-%dT%T.%fZ\t%l\tenvoy %n\t%v');
  t.same(r.errors, []);
  t.same(r.notices, [
    'flag --restart-epoch accepted and ignored: Legate has no hot restart',
    'flag --parent-shutdown-time-s accepted and ignored: Legate has no hot restart',
    'flag --bootstrap-version accepted and ignored: removed from Envoy, accepted for older pilot-agents; Legate reads v3 only',
    'flag --log-format-prefix-with-location accepted and ignored: removed from Envoy, accepted for older pilot-agents',
    'flag --max-obj-name-len accepted and ignored: removed from Envoy, accepted for older pilot-agents',
  ]);
  t.equal(r.options.parentShutdownTimeMs, 60_000);
  t.equal(r.options.serviceCluster, 'istio-proxy');
  t.equal(r.options.serviceNode, 'sidecar~10.0.0.1~pod.ns~ns.svc.cluster.local');
  t.equal(r.options.logFormat, '%Y-%m-%dT%T.%fZ\t%l\tenvoy %n\t%v');
});

// [flag, value, field, expected]: each value flag is tried as `--flag value` and `--flag=value`.
const VALUE_FLAGS: ReadonlyArray<readonly [string, string, keyof CommandLineOptions, unknown]> = [
  ['--config-path', '/b.json', 'configPath', '/b.json'],
  ['--config-yaml', 'admin: {}', 'configYaml', 'admin: {}'],
  ['--mode', 'validate', 'mode', 'validate'],
  ['--mode', 'init_only', 'mode', 'init_only'],
  ['--log-level', 'debug', 'logLevel', 'debug'],
  ['--log-level', 'warn', 'logLevel', 'warning'],
  ['--log-level', 'off', 'logLevel', 'off'],
  ['--component-log-level', 'upstream:debug,connection:trace', 'componentLogLevel', 'upstream:debug,connection:trace'],
  ['--component-log-level', 'upstream:debug,connection:trace', 'componentLogLevels', [['upstream', 'debug'], ['connection', 'trace']]],
  ['--log-format', '%v', 'logFormat', '%v'],
  ['--log-path', '/tmp/envoy.log', 'logPath', '/tmp/envoy.log'],
  ['--concurrency', '4', 'concurrency', 4],
  ['--concurrency', '0', 'concurrency', 1],
  ['--drain-time-s', '5', 'drainTimeMs', 5000],
  ['--parent-shutdown-time-s', '7', 'parentShutdownTimeMs', 7000],
  ['--drain-strategy', 'immediate', 'drainStrategy', 'immediate'],
  ['--drain-strategy', 'gradual', 'drainStrategy', 'gradual'],
  ['--service-node', 'n1', 'serviceNode', 'n1'],
  ['--service-cluster', 'c1', 'serviceCluster', 'c1'],
  ['--service-zone', 'z1', 'serviceZone', 'z1'],
  ['--local-address-ip-version', 'v6', 'localAddressIpVersion', 'v6'],
  ['--file-flush-interval-msec', '250', 'fileFlushIntervalMs', 250],
  ['--file-flush-min-size-kb', '128', 'fileFlushMinSizeKb', 128],
  ['--admin-address-path', '/tmp/admin', 'adminAddressPath', '/tmp/admin'],
  ['--stats-tag', 'mesh:m1', 'statsTags', [{ name: 'mesh', value: 'm1' }]],
  ['--stats-tag', 'a_b:c:d', 'statsTags', [{ name: 'a_b', value: 'c:d' }]],
  ['--disable-extensions', 'a/b,c/d', 'disabledExtensions', ['a/b', 'c/d']],
  ['--base-id', '3', 'baseId', 3],
  ['--base-id-path', '/tmp/base', 'baseIdPath', '/tmp/base'],
  ['--restart-epoch', '2', 'restartEpoch', 2],
  ['--socket-path', '/tmp/sock', 'socketPath', '/tmp/sock'],
];

t.test('value flags, both syntaxes', async (t) => {
  for (const [flag, value, field, expected] of VALUE_FLAGS) {
    for (const argv of [[flag, value], [`${flag}=${value}`]]) {
      const r = parseCommandLine(flag === '--config-path' ? argv : [...CFG, ...argv], HOST);
      t.same(r.errors, [], argv.join(' '));
      t.same(r.options[field], expected, `${argv.join(' ')} → ${field}`);
    }
  }
});

t.test('short flags -c and -l, both syntaxes', async (t) => {
  t.equal(parseCommandLine(['-c', 'a.yaml'], HOST).options.configPath, 'a.yaml');
  t.equal(parseCommandLine(['-c=a.yaml'], HOST).options.configPath, 'a.yaml');
  t.equal(parse('-l', 'trace').options.logLevel, 'trace');
  t.equal(parse('-l=critical').options.logLevel, 'critical');
  t.same(parse('-l', 'loud').errors, ['-l: expected one of trace|debug|info|warning|warn|error|critical|off, got "loud"']);
});

t.test('switches', async (t) => {
  const switches: ReadonlyArray<readonly [string, keyof CommandLineOptions]> = [
    ['--log-format-escaped', 'logFormatEscaped'],
    ['--allow-unknown-static-fields', 'allowUnknownStaticFields'],
    ['--allow-unknown-fields', 'allowUnknownStaticFields'],
    ['--reject-unknown-dynamic-fields', 'rejectUnknownDynamicFields'],
    ['--ignore-unknown-dynamic-fields', 'ignoreUnknownDynamicFields'],
    ['--skip-deprecated-logs', 'skipDeprecatedLogs'],
    ['--disable-hot-restart', 'disableHotRestart'],
    ['--use-dynamic-base-id', 'useDynamicBaseId'],
    ['--skip-hot-restart-on-no-parent', 'skipHotRestartOnNoParent'],
    ['--skip-hot-restart-parent-stats', 'skipHotRestartParentStats'],
    ['--enable-mutex-tracing', 'enableMutexTracing'],
    ['--enable-core-dump', 'enableCoreDump'],
    ['--enable-fine-grain-logging', 'enableFineGrainLogging'],
    ['--cpuset-threads', 'cpusetThreads'],
  ];
  for (const [flag, field] of switches) {
    const r = parse(flag);
    t.same(r.errors, [], flag);
    t.equal(r.options[field], true, flag);
  }
  t.same(parse('--disable-hot-restart=true').errors, ['--disable-hot-restart: takes no value, got "true"']);
});

t.test('every ignored flag produces exactly one notice, every other flag none', async (t) => {
  for (const spec of FLAGS) {
    if (spec.action !== undefined) continue;
    const value = { value: ['1'], multi: ['a:b'], switch: [] }[spec.kind];
    const sample: Record<string, string> = {
      'mode': 'serve', 'log-level': 'info', 'component-log-level': 'misc:error', 'drain-strategy': 'gradual',
      'local-address-ip-version': 'v4', 'log-format-prefix-with-location': '0', 'use-fake-symbol-table': '0',
      'socket-mode': '644',
    };
    const args = spec.kind === 'switch' ? [`--${spec.name}`] : [`--${spec.name}`, sample[spec.name] ?? value[0]!];
    const r = parseCommandLine(spec.name === 'config-path' ? args : [...CFG, ...args], HOST);
    t.same(r.errors, [], args.join(' '));
    const own = r.notices.filter((n) => n.startsWith(`flag --${spec.name} accepted and ignored: `));
    t.equal(own.length, spec.ignored === undefined ? 0 : 1, `${spec.name} notices`);
  }
  t.same(parse('--allow-unknown-fields').notices,
    ['flag --allow-unknown-fields is deprecated, use --allow-unknown-static-fields instead']);
});

t.test('bad values: exact error text naming the flag', async (t) => {
  const cases: ReadonlyArray<readonly [string[], string]> = [
    [['--concurrency', 'x'], '--concurrency: expected a non-negative integer, got "x"'],
    [['--concurrency', '-1'], '--concurrency: expected a non-negative integer, got "-1"'],
    [['--concurrency=1.5'], '--concurrency: expected a non-negative integer, got "1.5"'],
    [['--concurrency', '4294967296'], '--concurrency: 4294967296 is out of range (at most 4294967295)'],
    [['--drain-time-s', ''], '--drain-time-s: expected a non-negative integer, got ""'],
    [['--file-flush-interval-msec', '1s'], '--file-flush-interval-msec: expected a non-negative integer, got "1s"'],
    [['--log-level', 'WARN'], '--log-level: expected one of trace|debug|info|warning|warn|error|critical|off, got "WARN"'],
    [['--mode', 'run'], '--mode: expected one of serve|validate|init_only, got "run"'],
    [['--drain-strategy', 'slow'], '--drain-strategy: expected one of gradual|immediate, got "slow"'],
    [['--local-address-ip-version', 'v5'], '--local-address-ip-version: expected one of v4|v6, got "v5"'],
    [['--component-log-level', 'misc'], '--component-log-level: expected name:level, got "misc"'],
    [['--component-log-level', 'misc:error,'], '--component-log-level: expected name:level, got ""'],
    [['--component-log-level', 'misc:loud'], '--component-log-level: invalid log level "loud" in "misc:loud"'],
    [['--component-log-level', 'nosuch:debug'], '--component-log-level: unknown component "nosuch" in "nosuch:debug"'],
    [['--stats-tag', 'novalue'], '--stats-tag: expected name:value, got "novalue"'],
    [['--stats-tag', 'a-b:c'], '--stats-tag: tag name "a-b" may only contain letters, digits and \'_\''],
    [['--stats-tag', 'a:b.c'], '--stats-tag: tag value "b.c" may not contain \'.\''],
    [['--socket-mode', '9'], '--socket-mode: expected an octal file mode such as 600, got "9"'],
    [['--use-dynamic-base-id', '--restart-epoch', '1'], '--use-dynamic-base-id: cannot be used with --restart-epoch=1'],
  ];
  for (const [args, error] of cases) t.same(parse(...args).errors, [error], args.join(' '));
});

t.test('unknown flags, positional arguments, missing values, repeats', async (t) => {
  t.same(parse('--foo').errors, ['unknown flag --foo']);
  t.same(parse('--foo=1').errors, ['unknown flag --foo']);
  t.same(parse('-x').errors, ['unknown flag -x']);
  t.same(parse('-cother.yaml').errors, ['unknown flag -cother.yaml']);
  t.same(parse('--stats-flush-interval', '5s').errors, ['unknown flag --stats-flush-interval',
    'unexpected argument "5s": Envoy takes no positional arguments']);
  t.same(parse('serve').errors, ['unexpected argument "serve": Envoy takes no positional arguments']);
  t.same(parse('-').errors, ['unexpected argument "-": Envoy takes no positional arguments']);
  t.same(parse('--drain-time-s').errors, ['--drain-time-s: missing value']);
  t.same(parse('-c', 'again.yaml').errors, ['-c: given more than once']);
  t.same(parse('--config-path=again.yaml').errors, ['--config-path: given more than once']);
  t.same(parse('--disable-hot-restart', '--disable-hot-restart').errors, ['--disable-hot-restart: given more than once']);
  t.same(parse('--foo', '--bar').errors, ['unknown flag --foo', 'unknown flag --bar'], 'every error is reported');
  // A value flag takes the next argument whatever it looks like, as TCLAP does.
  t.equal(parse('--service-node', '--weird').options.serviceNode, '--weird');
  const many = parse('--stats-tag', 'a:1', '--stats-tag=b:2');
  t.same(many.errors, []);
  t.same(many.options.statsTags, [{ name: 'a', value: '1' }, { name: 'b', value: '2' }]);
});

t.test('-- ends the options', async (t) => {
  const r = parse('--', '--foo', 'bar');
  t.same(r.errors, []);
  t.same(r.notices, ['arguments after -- ignored: --foo bar']);
});

t.test('a configuration source is required', async (t) => {
  t.same(parseCommandLine([], HOST).errors, ['one of --config-path (-c) or --config-yaml is required']);
  t.same(parseCommandLine(['-l', 'debug'], HOST).errors, ['one of --config-path (-c) or --config-yaml is required']);
});

t.test('concurrency default: CPUs, or cpuset CPUs with --cpuset-threads', async (t) => {
  t.equal(parse().options.concurrency, 8);
  t.equal(parse('--cpuset-threads').options.concurrency, 3);
  const both = parse('--cpuset-threads', '--concurrency', '5');
  t.equal(both.options.concurrency, 5);
  t.same(both.notices, ['both --concurrency and --cpuset-threads are set; not applying --cpuset-threads']);
  t.ok(parseCommandLine(CFG).options.concurrency >= 1, 'reads the host when not injected');
});

t.test('socket mode is kept for a file socket path', async (t) => {
  t.equal(parse('--socket-path', '/tmp/s', '--socket-mode', '644').options.socketMode, 0o644);
  t.equal(parse('--socket-path', '/tmp/s').options.socketMode, 0o600);
  t.equal(parse('--socket-mode', '644').options.socketMode, 0, 'abstract socket');
});

t.test('--version, --help and --hot-restart-version exit 0', async (t) => {
  const v = parseCommandLine(['--version'], HOST);
  t.equal(v.exit?.code, 0);
  t.match(v.exit?.output, /^\nlegate {2}version: \d+\.\d+\.\d+[^/]*\/1\.\d+-compatible\/RELEASE\/OpenSSL\n\n$/);
  t.same(v.errors, [], 'no config needed');

  const h = parseCommandLine(['-h'], HOST);
  t.equal(h.exit?.code, 0);
  t.match(h.exit?.output, /^USAGE: legate \[options\]/);
  for (const spec of FLAGS) t.ok(h.exit!.output.includes(`--${spec.name}`), `help lists --${spec.name}`);
  t.match(h.exit?.output, /-c <path>, --config-path <path>/);
  t.match(h.exit?.output, /--disable-hot-restart\n {6}Disable hot restart \(ignored: Legate has no hot restart\)/);
  t.equal(parseCommandLine(['-c', 'x', '--help', '--bogus'], HOST).exit?.code, 0, 'stops at --help');

  const broken = parseCommandLine(['--bogus', '--help'], HOST);
  t.equal(broken.exit, undefined, 'an earlier error wins over --help');
  t.same(broken.errors, ['unknown flag --bogus']);

  const hr = parseCommandLine(['--hot-restart-version'], HOST);
  t.same(hr.exit, { code: 0, output: 'disabled\n' });
  t.same(parseCommandLine(['--hot-restart-version=1'], HOST).errors, ['--hot-restart-version: takes no value, got "1"']);
});
