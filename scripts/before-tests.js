#!/usr/bin/env node
// tap's `before` hook: what the tests need beside the compiled tree, rebuilt when stale: the proto
// descriptor, and the V8 code cache (a `tsc` run that changed modules leaves it stale; bin/legate
// would then compile those modules from source, and lazy-dependencies.test checks it does not).
'use strict';
const { execFileSync } = require('node:child_process');
const path = require('node:path');

for (const script of ['build-proto-descriptor.js', 'build-code-cache.js']) {
  execFileSync(process.execPath, [path.join(__dirname, script)], { stdio: 'inherit' });
}
