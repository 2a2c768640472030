/**
 * Entry point: parse Envoy's command line, load the bootstrap, start the server,
 * wire signals. Nothing else lives here.
 */
import fs from 'node:fs';
import { applyLoggingOptions } from './cli/apply-logging';
import { parseCommandLine } from './cli/options';
import { flushLogs, logger, reopenLogs } from './common/logger';
import { loadBootstrap } from './bootstrap/bootstrap';
import { Server } from './server/server';
import { reopenAccessLogs } from './access-log/access-logger';
import { installFastAsyncResourceBind } from './common/async-resource-bind';
import { isPoolWorker } from './common/process-role';
import { noteConfigBytes, releaseOptimizingCompiler } from './common/startup-tiering';

const log = logger('main');

async function main(argv: readonly string[]): Promise<number> {
  // If whoever reads our stdout/stderr goes away (EPIPE), drop the output: a proxy must keep
  // serving, and must not turn each failed log write into another error to log.
  for (const out of [process.stdout, process.stderr]) out.on('error', () => undefined);
  // `legate iptables ...`: the sidecar init step (istio-iptables' flags), not the proxy.
  // `istio-iptables` too: Istio's injection template passes that word as the first argument,
  // so an istio-init container whose command is `legate` runs our rules unchanged.
  // Loaded only for this command: the proxy itself never needs the iptables code.
  if (argv[0] === 'iptables' || argv[0] === 'istio-iptables') {
    return (require('./iptables/command') as typeof import('./iptables/command')).runIptablesCommand(argv.slice(1));
  }
  // `legate wait ...`: block until /ready (a postStart hook, like `pilot-agent wait`).
  if (argv[0] === 'wait') return (require('./cli/wait-command') as typeof import('./cli/wait-command')).runWaitCommand(argv.slice(1));
  const parsed = parseCommandLine(argv);
  if (parsed.exit) {
    process.stdout.write(parsed.exit.output.endsWith('\n') ? parsed.exit.output : `${parsed.exit.output}\n`);
    return parsed.exit.code;
  }
  if (parsed.errors.length) {
    for (const e of parsed.errors) process.stderr.write(`error: ${e}\n`);
    process.stderr.write('run "legate --help" for usage\n');
    return 1;
  }
  const options = parsed.options;
  const notices = [...parsed.notices];
  // node:http2 client requests pay for a deprecated property on every bind(): see the module.
  installFastAsyncResourceBind();
  // Worker processes only when --concurrency is given: without it Envoy would use every hardware
  // thread, but Legate stays one process (see docs/compat.md, "--concurrency").
  const workers = options.concurrency > 1 && argv.some((a) => a === '--concurrency' || a.startsWith('--concurrency=')) ? options.concurrency : 1;
  // A bug in one request's handling must not take the whole sidecar (and its pod) down:
  // log it loudly, count on the request's own timeouts to clean up, and keep serving.
  let inHandler = false;
  process.on('uncaughtException', (err: NodeJS.ErrnoException) => {
    if (inHandler || err.code === 'EPIPE') return;
    inHandler = true;
    try {
      log.critical(`uncaught exception (request aborted, proxy continues): ${err.stack ?? err.message}`);
    } finally {
      inHandler = false;
    }
  });
  if (isPoolWorker()) {
    // A --concurrency worker: the primary sends the validated config; notices were its to print.
    applyLoggingOptions(options, []);
    return (require('./workers/worker') as typeof import('./workers/worker')).runWorker(options);
  }
  applyLoggingOptions(options, notices);

  noteConfigBytes(configTextBytes(options.configPath, options.configYaml));
  const loaded = loadBootstrap({
    configPath: options.configPath || undefined,
    configYaml: options.configYaml || undefined,
    allowUnknownStaticFields: options.allowUnknownStaticFields,
    serviceNode: options.serviceNode || undefined,
    serviceCluster: options.serviceCluster || undefined,
    serviceZone: options.serviceZone || undefined,
  });
  for (const w of loaded.warnings) log.warn(w);
  if (options.mode === 'validate') {
    for (const e of loaded.errors) process.stderr.write(`${e}\n`);
    process.stdout.write(loaded.errors.length ? `configuration has ${loaded.errors.length} error(s)\n` : 'configuration OK\n');
    return loaded.errors.length ? 1 : 0;
  }
  if (!loaded.model) {
    for (const e of loaded.errors) process.stderr.write(`error: ${e}\n`);
    return 1;
  }
  if (options.mode === 'init_only') return 0;

  let exitCode: number | undefined;
  let resolveExit!: (code: number) => void;
  const exited = new Promise<number>((r) => (resolveExit = r));
  // The worker-process machinery (and `legate wait` above) is loaded only when used: a
  // single-process sidecar's start compiles and keeps in memory only what it runs.
  const workerPool = workers > 1 ? (require('./workers/primary') as typeof import('./workers/primary')) : undefined;
  const primary = workerPool === undefined ? undefined : new workerPool.Primary(workers, loaded.model, options, loaded.proto ?? {});
  const server = new Server(loaded.model, options, (code) => {
    if (exitCode === undefined) {
      exitCode = code;
      resolveExit(code);
    }
  }, loaded.proto, primary?.parts);
  primary?.start(server);
  process.on('SIGUSR1', () => {
    if (primary) return primary.reopenLogs();
    reopenLogs();
    reopenAccessLogs();
  });
  process.on('SIGTERM', () => void server.shutdown('caught SIGTERM'));
  process.on('SIGINT', () => void server.shutdown('caught SIGINT'));
  try {
    await server.start();
    // Serving from here on: request code is worth optimizing.
    releaseOptimizingCompiler();
  } catch (err) {
    process.stderr.write(`error: ${(err as Error).message}\n`);
    return 1;
  }
  return exited;
}

/** Size of the bootstrap text to decode: the file (0 if unreadable: loading reports it) and the YAML. */
function configTextBytes(configPath: string, configYaml: string): number {
  let bytes = Buffer.byteLength(configYaml);
  if (configPath) {
    try {
      bytes += fs.statSync(configPath).size;
    } catch {
      // loadBootstrap names the file and the error
    }
  }
  return bytes;
}

main(process.argv.slice(2)).then(
  async (code) => {
    await flushLogs().catch(() => undefined);
    process.exit(code);
  },
  (err: Error) => {
    process.stderr.write(`fatal: ${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);
