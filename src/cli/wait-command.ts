/**
 * `legate wait`: blocks until the proxy's admin `/ready` answers 200, as `pilot-agent wait`
 * does for Envoy. Meant for a Kubernetes postStart hook on the sidecar container: kubelet starts
 * the next container only when the hook returns, so the application never runs before its
 * proxy can carry traffic. Exit 0 when ready, 1 at the timeout (or on a usage error).
 *
 * Flags (pilot-agent's camelCase spellings are accepted too):
 *   --url <url>                 what to poll; default http://127.0.0.1:<admin-port>/ready
 *   --admin-port <port>         default 15000 (Istio's admin port)
 *   --timeout-seconds <n>       default 60
 *   --period-millis <n>         default 500
 *   --request-timeout-millis <n> default 500
 */
import http from 'node:http';

export interface WaitOptions {
  readonly url: string;
  readonly timeoutMs: number;
  readonly periodMs: number;
  readonly requestTimeoutMs: number;
}

/** Everything the command touches outside itself; tests replace any of it. */
export interface WaitCommandIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

const PREFIX = 'legate wait';

const USAGE = `USAGE: legate wait [options]

Polls the admin /ready endpoint until it answers 200 (exit 0) or the timeout passes (exit 1).
For a postStart hook on the sidecar container, like "pilot-agent wait".

  --url <url>                    URL to poll (default http://127.0.0.1:<admin-port>/ready)
  --admin-port <port>            admin port of the local proxy (default 15000)
  --timeout-seconds <n>          give up after n seconds (default 60)
  --period-millis <n>            time between attempts (default 500)
  --request-timeout-millis <n>   timeout of one attempt (default 500)
`;

/** Flag name (long, without dashes) → option it sets; pilot-agent's spellings are aliases. */
const FLAG_ALIASES: Readonly<Record<string, 'url' | 'adminPort' | 'timeoutSeconds' | 'periodMillis' | 'requestTimeoutMillis'>> = {
  'url': 'url',
  'admin-port': 'adminPort',
  'timeout-seconds': 'timeoutSeconds',
  'timeoutSeconds': 'timeoutSeconds',
  'period-millis': 'periodMillis',
  'periodMillis': 'periodMillis',
  'request-timeout-millis': 'requestTimeoutMillis',
  'requestTimeoutMillis': 'requestTimeoutMillis',
};

/** Parses the arguments after `wait`. */
export function parseWaitArgs(argv: readonly string[]): { options?: WaitOptions; errors: string[]; help: boolean } {
  const errors: string[] = [];
  const values: Partial<Record<(typeof FLAG_ALIASES)[string], string>> = {};
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-h' || arg === '--help') {
      help = true;
      continue;
    }
    if (!arg.startsWith('--')) {
      errors.push(`unexpected argument ${JSON.stringify(arg)}`);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    const key = FLAG_ALIASES[name];
    if (!key) {
      errors.push(`unknown flag: --${name}`);
      continue;
    }
    if (eq >= 0) values[key] = arg.slice(eq + 1);
    else if (i + 1 < argv.length) values[key] = argv[++i]!;
    else errors.push(`flag needs an argument: --${name}`);
  }
  const int = (key: keyof typeof values, flag: string, def: number, min: number, max: number): number => {
    const text = values[key];
    if (text === undefined) return def;
    const n = /^\d+$/.test(text) ? Number(text) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      errors.push(`--${flag}: expected an integer in [${min}, ${max}], got ${JSON.stringify(text)}`);
      return def;
    }
    return n;
  };
  const adminPort = int('adminPort', 'admin-port', 15000, 1, 65535);
  const timeoutSeconds = int('timeoutSeconds', 'timeout-seconds', 60, 0, 86_400);
  const periodMs = int('periodMillis', 'period-millis', 500, 1, 3_600_000);
  const requestTimeoutMs = int('requestTimeoutMillis', 'request-timeout-millis', 500, 1, 3_600_000);
  let url = `http://127.0.0.1:${adminPort}/ready`;
  if (values.url !== undefined) {
    if (values.adminPort !== undefined) errors.push('--url and --admin-port are exclusive: give one');
    try {
      const u = new URL(values.url);
      if (u.protocol !== 'http:') errors.push(`--url: only http:// URLs are supported, got ${JSON.stringify(values.url)}`);
      url = values.url;
    } catch {
      errors.push(`--url: not a URL: ${JSON.stringify(values.url)}`);
    }
  }
  if (errors.length || help) return { errors, help };
  return { options: { url, timeoutMs: timeoutSeconds * 1000, periodMs, requestTimeoutMs }, errors, help };
}

/** One GET; resolves with the status, or an error description. */
function probe(url: string, timeoutMs: number): Promise<{ status: number; body: string } | { error: string }> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8').trim() }));
      res.on('error', (err) => resolve({ error: err.message }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code === 'ECONNREFUSED' ? 'connection refused (not listening yet)' : err.message }));
  });
}

/** Polls until ready or the deadline; resolves to the exit code. */
export async function waitUntilReady(o: WaitOptions, io: WaitCommandIo): Promise<number> {
  const started = Date.now();
  const deadline = started + o.timeoutMs;
  io.stderr(`${PREFIX}: waiting for ${o.url} to answer 200 (timeout: ${o.timeoutMs / 1000} seconds)\n`);
  let last = 'no attempt made';
  for (;;) {
    const left = deadline - Date.now();
    // The last attempt is cut at the deadline; with --timeout-seconds 0 there is one whole attempt.
    const r = await probe(o.url, left > 0 ? Math.min(o.requestTimeoutMs, left) : o.requestTimeoutMs);
    if ('status' in r && r.status === 200) {
      io.stderr(`${PREFIX}: ready after ${Date.now() - started} ms\n`);
      return 0;
    }
    last = 'status' in r ? `HTTP ${r.status}${r.body ? ` (${r.body.slice(0, 200)})` : ''}` : r.error;
    const remaining = deadline - Date.now();
    if (remaining <= 0) break;
    await new Promise((resolve) => setTimeout(resolve, Math.min(o.periodMs, remaining)));
  }
  io.stderr(`${PREFIX}: error: ${o.url} not ready within ${o.timeoutMs / 1000} seconds; last answer: ${last}\n`);
  return 1;
}

/**
 * Runs `legate wait <argv>`.
 * @param argv the arguments after `wait`
 * @returns the process exit code
 */
export async function runWaitCommand(argv: readonly string[], io: Partial<WaitCommandIo> = {}): Promise<number> {
  const out = io.stdout ?? ((s: string) => void process.stdout.write(s));
  const err = io.stderr ?? ((s: string) => void process.stderr.write(s));
  const parsed = parseWaitArgs(argv);
  if (parsed.help) {
    out(USAGE);
    return 0;
  }
  if (!parsed.options) {
    for (const e of parsed.errors) err(`${PREFIX}: error: ${e}\n`);
    err('run "legate wait --help" for usage\n');
    return 1;
  }
  return waitUntilReady(parsed.options, { stdout: out, stderr: err });
}
