/**
 * istio-iptables' command line: the same flag names, short names, defaults and environment
 * variables (`istio/istio:tools/istio-iptables/pkg/cmd/root.go`, names from
 * `.../pkg/constants/constants.go`, env binding from `istio/istio:pkg/flag/flag.go`).
 *
 * Precedence, as in istio: command line, then the additional env alias (e.g.
 * `ISTIO_META_DNS_CAPTURE`), then the flag's own env variable (`--foo-bar` ↔ `FOO_BAR`), then the
 * default. Parsing follows pflag: `--name value`, `--name=value`, `-x value`, `-xvalue`,
 * `-x=value`, bare boolean flags, `--` ends the flags.
 */

/**
 * The raw option values, after env and command line, before any checking. Each field is the
 * value of the flag in {@link IPTABLES_FLAGS} whose `key` names it (meaning and default are
 * there); the env-only ones are documented below.
 */
export interface IptablesOptions {
  envoyPort: string;
  inboundCapturePort: string;
  inboundTunnelPort: string;
  proxyUid: string;
  proxyGid: string;
  interceptionMode: string;
  inboundPorts: string;
  localExcludePorts: string;
  excludeInterfaces: string;
  serviceCidr: string;
  serviceExcludeCidr: string;
  outboundPorts: string;
  localOutboundPortsExclude: string;
  kubeVirtInterfaces: string;
  tproxyMark: string;
  tproxyRouteTable: string;
  dryRun: boolean;
  iptablesProbePort: number;
  probeTimeoutMs: number;
  skipRuleApply: boolean;
  runValidation: boolean;
  redirectDns: boolean;
  dropInvalid: boolean;
  dualStack: boolean;
  captureAllDns: boolean;
  networkNamespace: string;
  cniMode: boolean;
  reconcile: boolean;
  cleanupOnly: boolean;
  forceApply: boolean;
  nativeNftables: boolean;
  forceIptablesBinary: string;
  /** Env only: `ISTIO_OUTBOUND_OWNER_GROUPS`, default `*`. */
  ownerGroupsInclude: string;
  /** Env only: `ISTIO_OUTBOUND_OWNER_GROUPS_EXCLUDE`, default empty. */
  ownerGroupsExclude: string;
  /** Env only: `ISTIO_OUTBOUND_IPV4_LOOPBACK_CIDR`, default `127.0.0.1/32`. */
  hostIpv4LoopbackCidr: string;
  /** Env only: `ENVOY_USER`, whose uid is the `-u` default; default `istio-proxy`. */
  envoyUser: string;
  /** Env only: `DRY_RUN_FILE_PATH`; with `--dry-run`, the output is written there too. */
  dryRunFilePath: string;
}

type Kind = 'string' | 'bool' | 'uint16' | 'duration' | 'ignored-string' | 'ignored-bool';
type Key = keyof IptablesOptions;

/** One flag: pflag name, shorthand, kind, env variables (own first, then aliases), target option. */
export interface FlagSpec {
  readonly name: string;
  readonly short?: string;
  readonly kind: Kind;
  readonly env: readonly string[];
  readonly key?: Key;
  readonly help: string;
}

const f = (name: string, short: string | undefined, kind: Kind, key: Key | undefined, help: string, env?: readonly string[]): FlagSpec => ({
  name, ...(short ? { short } : {}), kind, ...(key ? { key } : {}), help,
  env: env ?? [name.toUpperCase().replace(/-/g, '_')],
});

/** Every flag, in istio's registration order. */
export const IPTABLES_FLAGS: readonly FlagSpec[] = [
  f('envoy-port', 'p', 'string', 'envoyPort', 'Specify the envoy port to which redirect all TCP traffic.', []),
  f('inbound-capture-port', 'z', 'string', 'inboundCapturePort', 'Port to which all inbound TCP traffic to the pod/VM should be redirected to.'),
  f('inbound-tunnel-port', 'e', 'string', 'inboundTunnelPort', 'Specify the istio tunnel port for inbound tcp traffic.'),
  f('proxy-uid', 'u', 'string', 'proxyUid', 'Specify the UID of the user for which the redirection is not applied. Typically, this is the UID of the proxy container. Default: the uid of ENVOY_USER, else 1337.'),
  f('proxy-gid', 'g', 'string', 'proxyGid', 'Specify the GID of the user for which the redirection is not applied. Default: same as -u.'),
  f('istio-inbound-interception-mode', 'm', 'string', 'interceptionMode', 'The mode used to redirect inbound connections to Envoy, either "REDIRECT" (the default) or "TPROXY".'),
  f('istio-inbound-ports', 'b', 'string', 'inboundPorts', 'Comma separated list of inbound ports for which traffic is to be redirected to Envoy (optional). The wildcard character "*" can be used to configure redirection for all ports. An empty list will disable.'),
  f('istio-local-exclude-ports', 'd', 'string', 'localExcludePorts', 'Comma separated list of inbound ports to be excluded from redirection to Envoy (optional). Only applies when all inbound traffic (i.e. "*") is being redirected.'),
  f('istio-exclude-interfaces', 'c', 'string', 'excludeInterfaces', 'Comma separated list of NIC (optional). Neither inbound nor outbound traffic will be captured.'),
  f('istio-service-cidr', 'i', 'string', 'serviceCidr', 'Comma separated list of IP ranges in CIDR form to redirect to envoy (optional). The wildcard character "*" can be used to redirect all outbound traffic. An empty list will disable all outbound.'),
  f('istio-service-exclude-cidr', 'x', 'string', 'serviceExcludeCidr', 'Comma separated list of IP ranges in CIDR form to be excluded from redirection ("*" is not allowed). istio\'s help says it only applies with -i "*"; its code, and ours, exclude them in every case.'),
  f('istio-outbound-ports', 'q', 'string', 'outboundPorts', 'Comma separated list of outbound ports to be explicitly included for redirection to Envoy.'),
  f('istio-local-outbound-ports-exclude', 'o', 'string', 'localOutboundPortsExclude', 'Comma separated list of outbound ports to be excluded from redirection to Envoy.'),
  f('kube-virt-interfaces', 'k', 'string', 'kubeVirtInterfaces', 'Comma separated list of virtual interfaces whose inbound traffic (from VM) will be treated as outbound.'),
  f('istio-inbound-tproxy-mark', 't', 'string', 'tproxyMark', 'Packet mark for TPROXY interception.'),
  f('istio-inbound-tproxy-route-table', 'r', 'string', 'tproxyRouteTable', 'Policy routing table for TPROXY interception.'),
  f('dry-run', 'n', 'bool', 'dryRun', 'Do not call any external dependencies like iptables; print the iptables-restore input instead.'),
  f('iptables-probe-port', undefined, 'uint16', 'iptablesProbePort', 'Set listen port for failure detection.'),
  f('probe-timeout', undefined, 'duration', 'probeTimeoutMs', 'Failure detection timeout.'),
  f('skip-rule-apply', undefined, 'bool', 'skipRuleApply', 'Skip iptables apply.'),
  f('run-validation', undefined, 'bool', 'runValidation', 'Validate iptables (not supported by Legate yet).'),
  f('redirect-dns', undefined, 'bool', 'redirectDns', 'Enable capture of dns traffic by istio-agent.', ['REDIRECT_DNS', 'ISTIO_META_DNS_CAPTURE']),
  f('drop-invalid', undefined, 'bool', 'dropInvalid', 'Enable invalid drop in the iptables rules.', ['DROP_INVALID', 'INVALID_DROP']),
  f('dual-stack', undefined, 'bool', 'dualStack', 'Enable ipv4/ipv6 redirects for dual-stack.', ['DUAL_STACK', 'ISTIO_DUAL_STACK']),
  f('capture-all-dns', undefined, 'bool', 'captureAllDns', 'Instead of only capturing DNS traffic to DNS server IP, capture all DNS traffic at port 53. This setting is only effective when redirect dns is enabled.'),
  f('network-namespace', undefined, 'string', 'networkNamespace', 'The network namespace that iptables rules should be applied to (a path such as /var/run/netns/<name>).'),
  f('cni-mode', undefined, 'bool', 'cniMode', 'Whether to run as CNI plugin (accepted; no effect in Legate).'),
  f('reconcile', undefined, 'bool', 'reconcile', 'Reconcile pre-existing and incompatible iptables rules instead of failing if drift is detected (always on in Legate).'),
  f('cleanup-only', undefined, 'bool', 'cleanupOnly', 'Perform a forced cleanup without creating new iptables chains or rules.'),
  f('cleanup', undefined, 'bool', 'cleanupOnly', 'Same as --cleanup-only: remove every rule and chain of ours.', []),
  f('force-apply', undefined, 'bool', 'forceApply', 'Apply iptables changes even if they appear to already be in place.'),
  f('native-nftables', undefined, 'bool', 'nativeNftables', 'Use native nftables instead of iptables rules (not supported by Legate).'),
  f('force-iptables-binary', undefined, 'string', 'forceIptablesBinary', 'Break glass option to choose which iptables binary to use ("legacy" or "nft").'),
  // istio's logging options (pkg/log), passed by the injection template; accepted and ignored.
  ...['log_output_level', 'log_stacktrace_level', 'log_target', 'log_caller', 'log_rotate', 'log_rotate_max_age',
    'log_rotate_max_size', 'log_rotate_max_backups'].map((n) => f(n, undefined, 'ignored-string', undefined, 'istio logging option; ignored.', [])),
  f('log_as_json', undefined, 'ignored-bool', undefined, 'istio logging option; ignored.', []),
];

/** istio's defaults (`config.DefaultConfig()` plus the env-only knobs). */
export function defaultIptablesOptions(): IptablesOptions {
  return {
    envoyPort: '15001', inboundCapturePort: '15006', inboundTunnelPort: '15008', proxyUid: '', proxyGid: '',
    interceptionMode: '', inboundPorts: '', localExcludePorts: '', excludeInterfaces: '', serviceCidr: '',
    serviceExcludeCidr: '', outboundPorts: '', localOutboundPortsExclude: '', kubeVirtInterfaces: '',
    tproxyMark: '1337', tproxyRouteTable: '133', dryRun: false, iptablesProbePort: 15002, probeTimeoutMs: 5000,
    skipRuleApply: false, runValidation: false, redirectDns: false, dropInvalid: false, dualStack: false,
    captureAllDns: false, networkNamespace: '', cniMode: false, reconcile: false, cleanupOnly: false,
    forceApply: false, nativeNftables: false, forceIptablesBinary: '',
    ownerGroupsInclude: '*', ownerGroupsExclude: '', hostIpv4LoopbackCidr: '127.0.0.1/32',
    envoyUser: 'istio-proxy', dryRunFilePath: '',
  };
}

/** Env-only variables (no flag), as `env.Register` in istio's constants.go. */
const ENV_ONLY: readonly (readonly [string, Key])[] = [
  ['ISTIO_OUTBOUND_OWNER_GROUPS', 'ownerGroupsInclude'],
  ['ISTIO_OUTBOUND_OWNER_GROUPS_EXCLUDE', 'ownerGroupsExclude'],
  ['ISTIO_OUTBOUND_IPV4_LOOPBACK_CIDR', 'hostIpv4LoopbackCidr'],
  ['ENVOY_USER', 'envoyUser'],
  ['DRY_RUN_FILE_PATH', 'dryRunFilePath'],
];

/** Result of {@link parseIptablesArgs}. */
export interface ParsedIptablesArgs {
  readonly options: Readonly<IptablesOptions>;
  /** Usage errors, one line each; non-empty means "do not run". */
  readonly errors: readonly string[];
  /** Ignored environment values and similar, one line each. */
  readonly warnings: readonly string[];
  /** `-h`/`--help` was given. */
  readonly help: boolean;
}

/** Go's `strconv.ParseBool`. */
function parseBool(s: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  return undefined;
}

const DURATION_UNITS_MS: Readonly<Record<string, number>> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go's `time.ParseDuration`, in milliseconds. */
export function parseGoDuration(s: string): number | undefined {
  if (s === '0') return 0;
  const m = /^([-+]?)((?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+)$/.exec(s);
  if (!m) return undefined;
  let total = 0;
  for (const part of (m[2] ?? '').matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g)) {
    total += Number(part[1]) * (DURATION_UNITS_MS[part[2] ?? ''] ?? 0);
  }
  return m[1] === '-' ? -total : total;
}

/** Converts a flag's text value; returns an error message when it does not fit the kind. */
function convert(spec: FlagSpec, value: string): string | boolean | number | { error: string } {
  switch (spec.kind) {
    case 'string':
    case 'ignored-string':
      return value;
    case 'bool':
    case 'ignored-bool': {
      const b = parseBool(value);
      return b ?? { error: `invalid argument ${JSON.stringify(value)} for "--${spec.name}" flag: expected true or false` };
    }
    case 'uint16': {
      const n = /^(0x[0-9a-fA-F]+|[0-9]+)$/.test(value) ? Number(value) : NaN;
      return Number.isInteger(n) && n <= 65535 ? n : { error: `invalid argument ${JSON.stringify(value)} for "--${spec.name}" flag: expected 0-65535` };
    }
    case 'duration': {
      const ms = parseGoDuration(value);
      return ms ?? { error: `invalid argument ${JSON.stringify(value)} for "--${spec.name}" flag: expected a duration like "5s"` };
    }
  }
}

/**
 * Parses `legate iptables` arguments with istio-iptables' semantics.
 * @param argv the arguments after `iptables`
 * @param env the environment (process.env in production)
 */
export function parseIptablesArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): ParsedIptablesArgs {
  const options = defaultIptablesOptions();
  const errors: string[] = [];
  const warnings: string[] = [];
  let help = false;
  const positional: string[] = [];
  const set = (spec: FlagSpec, value: string, source: string): void => {
    const v = convert(spec, value);
    if (typeof v === 'object') {
      if (source === 'command line') errors.push(v.error);
      else warnings.push(`ignoring ${source}=${JSON.stringify(value)}: ${v.error}`);
      return;
    }
    if (spec.key) (options as unknown as Record<string, unknown>)[spec.key] = v;
  };

  // Environment first (own variable, then aliases), so the command line wins.
  for (const spec of IPTABLES_FLAGS) {
    for (const name of spec.env) {
      const value = env[name];
      if (value !== undefined) set(spec, value, name);
    }
  }
  for (const [name, key] of ENV_ONLY) {
    const value = env[name];
    if (value !== undefined) (options as unknown as Record<string, unknown>)[key] = value;
  }

  const byName = new Map(IPTABLES_FLAGS.map((s) => [s.name, s]));
  const byShort = new Map(IPTABLES_FLAGS.filter((s) => s.short).map((s) => [s.short as string, s]));
  const isBool = (s: FlagSpec) => s.kind === 'bool' || s.kind === 'ignored-bool';
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      if (name === 'help') { help = true; continue; }
      const spec = byName.get(name);
      if (!spec) { errors.push(`unknown flag: --${name}`); continue; }
      if (eq >= 0) set(spec, arg.slice(eq + 1), 'command line');
      else if (isBool(spec)) set(spec, 'true', 'command line');
      else if (i + 1 < argv.length) set(spec, argv[++i] ?? '', 'command line');
      else errors.push(`flag needs an argument: --${name}`);
      continue;
    }
    if (arg.startsWith('-') && arg.length > 1) {
      const shorts = arg.slice(1);
      for (let j = 0; j < shorts.length; j++) {
        const c = shorts[j] ?? '';
        if (c === 'h') { help = true; continue; }
        const spec = byShort.get(c);
        if (!spec) { errors.push(`unknown shorthand flag: '${c}' in -${shorts}`); break; }
        const rest = shorts.slice(j + 1);
        if (rest.startsWith('=')) { set(spec, rest.slice(1), 'command line'); break; }
        if (isBool(spec)) { set(spec, 'true', 'command line'); continue; }
        if (rest !== '') { set(spec, rest, 'command line'); break; }
        if (i + 1 < argv.length) { set(spec, argv[++i] ?? '', 'command line'); break; }
        errors.push(`flag needs an argument: '${c}' in -${shorts}`);
        break;
      }
      continue;
    }
    positional.push(arg);
  }
  if (positional.length) {
    const more = positional.length > 1 ? ` (and ${positional.length - 1} more)` : '';
    errors.push(`unexpected argument ${JSON.stringify(positional[0])}${more}: legate iptables takes flags only; ` +
      'quote "*" (-b \'*\', -i \'*\') or the shell expands it into file names');
  }
  return { options, errors, warnings, help };
}
