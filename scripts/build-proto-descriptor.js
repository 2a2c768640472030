#!/usr/bin/env node
// Precompiles Envoy's proto API (the .proto text shipped in @grpc/grpc-js-xds/deps, plus
// protos/) into dist/envoy-descriptor/: one protobufjs-JSON file per proto package and a
// manifest of which packages reference which (src/proto/descriptor-chunks.ts). At run time
// Legate loads only the packages a config reaches instead of parsing every .proto file.
// Needs the compiled tree (run after tsc). Skips the work when the descriptor is current:
// same format and source versions, written by the same compiled code (tsc rewrites every
// output file, so its content is compared, not its mtime).
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const proto = (m) => require(path.join(root, 'dist', 'src', 'proto', m));
const { DESCRIPTOR_DIR, currentDescriptorSources } = proto('envoy-protos.js');
const { LazyDescriptorRoot, writeDescriptorChunks } = proto('descriptor-chunks.js');
const { loadProtoTextRoot } = proto('proto-text-root.js');

const dir = path.join(root, DESCRIPTOR_DIR);
const sources = currentDescriptorSources();
const hash = crypto.createHash('sha256');
for (const f of ['descriptor-chunks.js', 'proto-text-root.js']) hash.update(fs.readFileSync(path.join(root, 'dist', 'src', 'proto', f)));
const builtBy = hash.digest('hex').slice(0, 16);
const opened = LazyDescriptorRoot.open(dir, sources);
if (typeof opened !== 'string' && opened.manifest.builtBy === builtBy && !process.argv.includes('--force')) process.exit(0);

const started = Date.now();
const { root: protoRoot, info } = loadProtoTextRoot();
const { chunks, bytes } = writeDescriptorChunks(protoRoot, info, sources, dir, builtBy);
console.error(`[legate] proto descriptor: ${chunks} packages, ${(bytes / 1024).toFixed(0)} KiB in ${path.relative(root, dir)} (${Date.now() - started} ms)`);
