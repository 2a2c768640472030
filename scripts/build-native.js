#!/usr/bin/env node
// Compiles native/original-dst.cc (SO_ORIGINAL_DST, IP_TRANSPARENT) into
// dist/src/native/original-dst.node with g++ and Node's own headers. Linux only: elsewhere
// there is nothing to read (no iptables), and Legate says so when a config needs it.
// Skips the compile when the output is newer than the source.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const src = path.join(root, 'native', 'original-dst.cc');
const out = path.join(root, 'dist', 'src', 'native', 'original-dst.node');

function mtime(p) {
  try { return fs.statSync(p).mtimeMs; } catch { return 0; }
}

if (process.platform !== 'linux') {
  console.error('[legate] not on Linux: skipping the SO_ORIGINAL_DST addon');
  process.exit(0);
}
if (mtime(out) > mtime(src) && !process.argv.includes('--force')) process.exit(0);
const headers = [
  path.join(path.dirname(process.execPath), '..', 'include', 'node'),
  '/usr/include/node',
  '/usr/local/include/node',
].find((d) => fs.existsSync(path.join(d, 'node_api.h')));
if (!headers) {
  console.error('[legate] Node headers (node_api.h) not found: cannot build the SO_ORIGINAL_DST addon');
  process.exit(1);
}
fs.mkdirSync(path.dirname(out), { recursive: true });
console.error('[legate] compiling native/original-dst.cc…');
const tmp = `${out}.tmp`;
execFileSync(process.env.CXX || 'g++', [
  '-shared', '-fPIC', '-O2', '-Wall', '-std=c++17',
  '-DNODE_GYP_MODULE_NAME=original_dst', '-DNAPI_VERSION=8',
  '-I', headers, src, '-o', tmp,
], { stdio: 'inherit' });
fs.renameSync(tmp, out);
