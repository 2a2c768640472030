// The V8 code cache (src/common/code-cache.ts) in real node processes on a throw-away package:
// modules load from the cache when it fits, and from source — with the same behaviour — when the
// cache is stale, corrupt, truncated, or made under other V8 flags.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { codeCacheIsCurrent, type CodeCacheStats } from '../../../src/common/code-cache';

const CODE_CACHE = path.join(__dirname, '..', '..', '..', 'src', 'common', 'code-cache.js');
const STARTUP_TIERING = path.join(__dirname, '..', '..', '..', 'src', 'common', 'startup-tiering.js');

interface Run {
  readonly answer: string;
  readonly stats: CodeCacheStats;
}

/** A package with modules in dist/ and node_modules/, and a file outside both. */
function makePackage(t: Test): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'legate-code-cache-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const write = (rel: string, text: string): void => {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), text);
  };
  write('dist/main.js', `'use strict';
const dep = require('dep');
const helper = require('./helper');
module.exports = function answer() {
  return [helper.word(), dep.number(), typeof require.resolve, __filename.endsWith('main.js'), this === undefined].join(' ');
};
exports.unused = true;
`);
  write('dist/helper.js', `'use strict';\nexports.word = function word() { return 'forty'; };\n`);
  write('node_modules/dep/package.json', JSON.stringify({ name: 'dep', main: 'index.js' }));
  write('node_modules/dep/index.js', `'use strict';\nexports.number = () => 42;\n`);
  // As bin/legate: the optimizing compiler held off first, in the producer and the consumer.
  write('run.js', `'use strict';
require(${JSON.stringify(STARTUP_TIERING)}).holdOptimizingCompiler();
const cc = require(${JSON.stringify(CODE_CACHE)});
if (process.argv[2] === 'produce') cc.produceCodeCache(__dirname, require('path').join(__dirname, 'cache'));
else cc.installCodeCache(__dirname, require('path').join(__dirname, 'cache'));
if (process.argv[2] === 'release') cc.releaseCodeCache();
const answer = require('./dist/main.js')();
process.stdout.write(JSON.stringify({ answer, stats: cc.codeCacheStats() }));
`);
  return root;
}

function run(root: string, mode: 'produce' | 'consume' | 'release', nodeArgs: readonly string[] = []): Run {
  return JSON.parse(execFileSync(process.execPath, [...nodeArgs, path.join(root, 'run.js'), mode], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } })) as Run;
}

function cacheFile(root: string): string {
  const files = fs.readdirSync(path.join(root, 'cache'));
  if (files.length !== 1) throw new Error(`expected one cache file, found ${files.join(', ')}`);
  return path.join(root, 'cache', files[0]!);
}

const ANSWER = 'forty 42 function true true';

t.test('modules load from a fitting cache, with the loader behaviour unchanged', async (t) => {
  const root = makePackage(t);
  const before = run(root, 'consume');
  t.equal(before.answer, ANSWER);
  t.equal(before.stats.file, undefined, 'no cache yet');
  t.equal(before.stats.used, 0);
  t.equal(run(root, 'produce').answer, ANSWER, 'the producer runs the modules too');
  t.equal(path.basename(cacheFile(root)), 'modules.bin');
  const after = run(root, 'consume');
  t.equal(after.answer, ANSWER);
  t.equal(after.stats.file, cacheFile(root));
  t.same({ used: after.stats.used, rejected: after.stats.rejected, stale: after.stats.stale }, { used: 3, rejected: 0, stale: 0 }, 'dist/main, dist/helper, node_modules/dep');
  t.equal(before.stats.resolved, 0);
  t.equal(after.stats.resolved, 3, 'requires answered from the record: ./dist/main.js (run.js), dep and ./helper (dist/main.js)');
});

t.test('a recorded resolution whose file is gone is left to Node', async (t) => {
  const root = makePackage(t);
  run(root, 'produce');
  // dep's entry point moves, as after an upgrade installed without rebuilding the cache.
  fs.mkdirSync(path.join(root, 'node_modules', 'dep', 'lib'));
  fs.renameSync(path.join(root, 'node_modules', 'dep', 'index.js'), path.join(root, 'node_modules', 'dep', 'lib', 'main.js'));
  fs.writeFileSync(path.join(root, 'node_modules', 'dep', 'package.json'), JSON.stringify({ name: 'dep', main: 'lib/main.js' }));
  const r = run(root, 'consume');
  t.equal(r.answer, ANSWER, 'dep loads from where it is now');
  t.equal(r.stats.resolved, 2, './dist/main.js and ./helper from the record; dep by Node');
  t.equal(r.stats.used, 2, 'dep\'s new file is not in the cache');
});

t.test('a cache without recorded resolutions is not current (the build remakes it)', async (t) => {
  const root = makePackage(t);
  run(root, 'produce');
  t.ok(codeCacheIsCurrent(root, path.join(root, 'cache')));
  const file = cacheFile(root);
  const buf = fs.readFileSync(file);
  const headerLength = buf.readUInt32LE(8);
  const header = JSON.parse(buf.toString('utf8', 12, 12 + headerLength)) as { resolutions?: unknown };
  t.ok(header.resolutions !== undefined, 'the producer records resolutions');
  delete header.resolutions;
  const newHeader = Buffer.from(JSON.stringify(header));
  const lead = Buffer.from(buf.subarray(0, 12));
  lead.writeUInt32LE(newHeader.length, 8);
  fs.writeFileSync(file, Buffer.concat([lead, newHeader, buf.subarray(12 + headerLength)]));
  t.notOk(codeCacheIsCurrent(root, path.join(root, 'cache')));
  const r = run(root, 'consume');
  t.equal(r.answer, ANSWER);
  t.same({ used: r.stats.used, resolved: r.stats.resolved }, { used: 3, resolved: 0 }, 'the compiled code is still used; every require resolved by Node');
});

t.test('a module whose source changed compiles from source, even at the same length', async (t) => {
  const root = makePackage(t);
  run(root, 'produce');
  t.ok(codeCacheIsCurrent(root, path.join(root, 'cache')), 'the build sees a current cache');
  const helper = path.join(root, 'dist', 'helper.js');
  const text = fs.readFileSync(helper, 'utf8');
  fs.writeFileSync(helper, text.replace("'forty'", "'fifty'"));
  t.equal(fs.statSync(helper).size, Buffer.byteLength(text), 'same length: V8 alone would accept the data');
  t.notOk(codeCacheIsCurrent(root, path.join(root, 'cache')), 'the build sees it is stale');
  const r = run(root, 'consume');
  t.equal(r.answer, ANSWER.replace('forty', 'fifty'), 'the edited module runs');
  t.equal(r.stats.stale, 1);
  t.equal(r.stats.used, 2);
});

t.test('data V8 rejects is ignored: the module compiles from source', async (t) => {
  const root = makePackage(t);
  run(root, 'produce');
  const file = cacheFile(root);
  const buf = fs.readFileSync(file);
  const headerLength = buf.readUInt32LE(8);
  const header = JSON.parse(buf.toString('utf8', 12, 12 + headerLength)) as { entries: Record<string, { offset: number }> };
  // The first bytes of an entry are V8's magic number and version hash: spoil them for one module.
  const at = 12 + headerLength + header.entries[path.join('dist', 'helper.js')]!.offset;
  for (let i = 0; i < 8; i++) buf[at + i] ^= 0xff;
  fs.writeFileSync(file, buf);
  const r = run(root, 'consume');
  t.equal(r.answer, ANSWER);
  t.equal(r.stats.rejected, 1);
  t.equal(r.stats.used, 2);
});

t.test('a truncated, foreign or empty cache file is ignored as a whole', async (t) => {
  const root = makePackage(t);
  run(root, 'produce');
  const file = cacheFile(root);
  const good = fs.readFileSync(file);
  for (const [what, bytes] of [
    ['truncated', good.subarray(0, good.length - 100)],
    ['foreign', Buffer.from('not a code cache at all, just text')],
    ['empty', Buffer.alloc(0)],
    ['bad header', Buffer.concat([good.subarray(0, 12), Buffer.from('{{{{'), good.subarray(16)])],
  ] as const) {
    fs.writeFileSync(file, bytes);
    const r = run(root, 'consume');
    t.equal(r.answer, ANSWER, `${what}: modules still load`);
    t.equal(r.stats.file, undefined, `${what}: cache not used`);
  }
});

t.test('a process with other V8 flags drops the cache made under the default ones at the first module', async (t) => {
  const root = makePackage(t);
  run(root, 'produce');
  const r = run(root, 'consume', ['--max-semi-space-size=4']);
  t.equal(r.answer, ANSWER, 'every module still loads');
  t.equal(r.stats.file, cacheFile(root), 'the file is read');
  t.equal(r.stats.rejected, 1, 'V8 rejects the first module');
  t.equal(r.stats.used, 0, 'and the cache is not tried for the others');
});

t.test('--enable-source-maps keeps the loader compile (Node maps stack traces only for what it compiled)', async (t) => {
  const root = makePackage(t);
  run(root, 'produce');
  const r = run(root, 'consume', ['--enable-source-maps']);
  t.equal(r.answer, ANSWER);
  t.equal(r.stats.file, undefined);
  t.equal(r.stats.used, 0);
});

t.test('after releaseCodeCache, modules compile as without a cache', async (t) => {
  const root = makePackage(t);
  run(root, 'produce');
  const r = run(root, 'release');
  t.equal(r.answer, ANSWER);
  t.equal(r.stats.file, cacheFile(root), 'the cache was found');
  t.equal(r.stats.used, 0, 'but modules loaded after the release do not use it');
  t.equal(r.stats.resolved, 0, 'nor its recorded resolutions');
});
