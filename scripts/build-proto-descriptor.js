#!/usr/bin/env node
// Precompiles Envoy's proto API (the .proto text shipped in @grpc/grpc-js-xds/deps, plus
// protos/) into dist/envoy-descriptor/: one protobufjs-JSON file per proto package and a
// manifest of which packages reference which (src/proto/descriptor-chunks.ts). At run time
// Legate loads only the packages a config reaches instead of parsing every .proto file.
// Needs the compiled tree (run after tsc). Skips the work when the descriptor is current:
// same format and source versions, and newer than the compiled code that writes it.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const proto = (m) => require(path.join(root, 'dist', 'src', 'proto', m));
const { DESCRIPTOR_DIR, currentDescriptorSources } = proto('envoy-protos.js');
const { LazyDescriptorRoot, writeDescriptorChunks } = proto('descriptor-chunks.js');
const { loadProtoTextRoot } = proto('proto-text-root.js');

const dir = path.join(root, DESCRIPTOR_DIR);
const mtime = (p) => { try { return fs.statSync(p).mtimeMs; } catch { return 0; } };
const sources = currentDescriptorSources();
const writers = ['descriptor-chunks.js', 'proto-text-root.js'].map((f) => mtime(path.join(root, 'dist', 'src', 'proto', f)));
const current = typeof LazyDescriptorRoot.open(dir, sources) !== 'string' && mtime(path.join(dir, 'manifest.json')) > Math.max(...writers);
if (current && !process.argv.includes('--force')) process.exit(0);

const started = Date.now();
const { root: protoRoot, info } = loadProtoTextRoot();
const { chunks, bytes } = writeDescriptorChunks(protoRoot, info, sources, dir);
console.error(`[legate] proto descriptor: ${chunks} packages, ${(bytes / 1024).toFixed(0)} KiB in ${path.relative(root, dir)} (${Date.now() - started} ms)`);
