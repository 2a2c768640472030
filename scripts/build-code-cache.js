#!/usr/bin/env node
// Writes dist/code-cache/modules.bin: V8's compiled code for the modules a sidecar start loads
// (src/common/code-cache.ts). Runs `bin/legate --mode validate` once on a small Istio-shaped
// static bootstrap (bench/macro/sidecar-bootstrap.ts) with the producer preloaded; the cache is
// taken at that process' exit, so it holds what start-up compiled. Needs the compiled tree (run
// after tsc and the proto descriptor). V8 accepts the data only under the V8 version and flags of
// the node that ran this script; bin/legate drops it otherwise, and skips modules that changed.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const dir = path.join(root, 'dist', 'code-cache');
const generator = path.join(root, 'dist', 'bench', 'macro', 'sidecar-bootstrap.js');
if (!fs.existsSync(generator)) {
  console.error(`[legate] ${path.relative(root, generator)} not built: skipping the code cache`);
  process.exit(0);
}
// Current already (same V8 tag, every listed module unchanged)? Then there is nothing to do.
const { codeCacheIsCurrent } = require(path.join(root, 'dist', 'src', 'common', 'code-cache.js'));
if (!process.argv.includes('--force') && codeCacheIsCurrent(root, dir)) process.exit(0);

const started = Date.now();
// Old files go first: bin/legate would otherwise consume them instead of compiling for the producer.
fs.rmSync(dir, { recursive: true, force: true });
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'legate-code-cache-'));
try {
  const config = path.join(tmp, 'bootstrap.json');
  const { sidecarBootstrap } = require(generator);
  fs.writeFileSync(config, JSON.stringify(sidecarBootstrap({ services: 3, adminPort: 15000, listenerPort: 15001, backendPort: 8080 })));
  const preload = path.join(tmp, 'produce.js');
  fs.writeFileSync(preload, `require(${JSON.stringify(path.join(root, 'dist', 'src', 'common', 'code-cache.js'))}).produceCodeCache(${JSON.stringify(root)}, ${JSON.stringify(dir)});\n`);
  execFileSync(process.execPath, ['-r', preload, path.join(root, 'bin', 'legate'), '--mode', 'validate', '-c', config, '--log-level', 'error'], { stdio: ['ignore', 'ignore', 'inherit'] });
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
const files = fs.readdirSync(dir);
const bytes = files.reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0);
console.error(`[legate] code cache: ${files.join(', ')}, ${(bytes / 1024).toFixed(0)} KiB in ${path.relative(root, dir)} (${Date.now() - started} ms)`);

