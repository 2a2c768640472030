#!/usr/bin/env node
// Makes `npm start`, `npm test` and `npm run bench` work on a fresh clone:
// installs dependencies when node_modules is missing or older than the lockfile,
// then compiles the TypeScript tree into dist/ (plus the native addon and the proto descriptor).
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function mtime(p) {
  try { return fs.statSync(path.join(root, p)).mtimeMs; } catch { return 0; }
}

const marker = 'node_modules/.package-lock.json';
if (mtime(marker) === 0 || mtime(marker) < mtime('package-lock.json')) {
  console.error('[legate] installing dependencies (npm ci)…');
  execFileSync(npm, ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
}
console.error('[legate] compiling TypeScript…');
execFileSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
// The SO_ORIGINAL_DST addon (native/original-dst.cc); rebuilt only when its source changed.
execFileSync(process.execPath, [path.join(root, 'scripts', 'build-native.js')], { cwd: root, stdio: 'inherit' });
// Envoy's proto API precompiled into dist/envoy-descriptor/; rebuilt only when stale.
execFileSync(process.execPath, [path.join(root, 'scripts', 'build-proto-descriptor.js')], { cwd: root, stdio: 'inherit' });
// V8 code cache for a faster start (src/common/code-cache.ts); tsc just rewrote the modules.
execFileSync(process.execPath, [path.join(root, 'scripts', 'build-code-cache.js')], { cwd: root, stdio: 'inherit' });

// tap runs test files through a plugin set it compiles into .tap/plugins. Our tests are
// compiled JavaScript, so package.json removes the TypeScript plugin; tap only honours that
// once the plugin set is built, which a fresh clone has not done yet.
if (process.argv.includes('--for-tests') && !fs.existsSync(path.join(root, '.tap', 'plugins', 'node_modules'))) {
  console.error('[legate] building tap plugins…');
  execFileSync(process.execPath, [path.join(root, 'node_modules', 'tap', 'dist', 'esm', 'run.mjs'), 'build'], { cwd: root, stdio: 'inherit' });
}
