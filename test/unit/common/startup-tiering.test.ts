// The optimizing compiler held off while Legate starts (src/common/startup-tiering.ts), checked
// in child node processes: V8's flags are per process and these tests change them.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import path from 'node:path';

const MODULE = path.join(__dirname, '..', '..', '..', 'src', 'common', 'startup-tiering.js');

/** Runs `body` (a function body with `tiering` and `v8` in scope) in a child node; returns what it prints as JSON. */
function inChild<T>(body: string, nodeArgs: readonly string[] = [], env: NodeJS.ProcessEnv = {}): T {
  const script = `const tiering = require(${JSON.stringify(MODULE)}); const v8 = require('node:v8');
process.stdout.write(JSON.stringify((() => { ${body} })()));`;
  return JSON.parse(execFileSync(process.execPath, [...nodeArgs, '-e', script], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '', ...env } })) as T;
}

function tagOf(nodeArgs: readonly string[]): number {
  return Number(execFileSync(process.execPath, [...nodeArgs, '-p', "require('node:v8').cachedDataVersionTag()"], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } }));
}

t.test('hold gives the V8 flags of `node --no-opt`; release gives back the defaults', async (t) => {
  const r = inChild<{ before: number; held: number; heldFlag: boolean; released: number; releasedFlag: boolean; startupTag: number }>(`
    const before = v8.cachedDataVersionTag();
    const startupTag = tiering.startupCodeCacheTag();
    tiering.holdOptimizingCompiler();
    const held = v8.cachedDataVersionTag(), heldFlag = tiering.optimizingCompilerHeld();
    tiering.releaseOptimizingCompiler();
    tiering.releaseOptimizingCompiler();
    return { before, held, heldFlag, released: v8.cachedDataVersionTag(), releasedFlag: tiering.optimizingCompilerHeld(), startupTag };`);
  const plain = tagOf([]);
  const noOpt = tagOf(['--no-opt']);
  t.not(plain, noOpt, 'the flag is part of the tag');
  t.equal(r.before, plain);
  t.equal(r.held, noOpt, 'held: as --no-opt');
  t.equal(r.heldFlag, true);
  t.equal(r.released, plain, 'released (twice: idempotent): as the defaults');
  t.equal(r.releasedFlag, false);
  t.equal(r.startupTag, noOpt, 'the code cache tag of a start, read from a process that is not holding');
});

t.test('a node started with its own tiering flags is left alone', async (t) => {
  for (const [what, nodeArgs, env] of [
    ['--no-opt on the command line', ['--no-opt'], {}],
    ['--jitless in NODE_OPTIONS', [], { NODE_OPTIONS: '--jitless' }],
    ['--max-opt on the command line', ['--max-opt=1'], {}],
  ] as const) {
    const r = inChild<{ before: number; after: number; held: boolean; startupTag: number }>(`
      const before = v8.cachedDataVersionTag();
      tiering.holdOptimizingCompiler();
      return { before, after: v8.cachedDataVersionTag(), held: tiering.optimizingCompilerHeld(), startupTag: tiering.startupCodeCacheTag() };`, nodeArgs, env);
    t.equal(r.held, false, `${what}: not held`);
    t.equal(r.after, r.before, `${what}: flags unchanged`);
    t.equal(r.startupTag, r.before, `${what}: a start's code cache tag is this node's own`);
  }
});

t.test('past BIG_CONFIG_BYTES of configuration to decode, the compiler is released', async (t) => {
  const r = inChild<{ big: number; afterSmall: boolean; afterBig: boolean }>(`
    tiering.holdOptimizingCompiler();
    tiering.noteConfigBytes(tiering.BIG_CONFIG_BYTES / 2);
    const afterSmall = tiering.optimizingCompilerHeld();
    tiering.noteConfigBytes(tiering.BIG_CONFIG_BYTES / 2 + 1);
    return { big: tiering.BIG_CONFIG_BYTES, afterSmall, afterBig: tiering.optimizingCompilerHeld() };`);
  t.equal(r.big, 2 * 1024 * 1024);
  t.equal(r.afterSmall, true, 'half of it: still held');
  t.equal(r.afterBig, false, 'the sum over it: released');
});

t.test('held, hot code stays unoptimized; released, it is optimized', async (t) => {
  // %GetOptimizationStatus bit 4: optimized (V8's OptimizationStatus::kOptimized).
  const r = inChild<{ held: boolean; released: boolean }>(`
    function hot(x) { let s = 0; for (let i = 0; i < 50; i++) s += (i * x) | 0; return s; }
    const optimized = () => (%GetOptimizationStatus(hot) & 16) !== 0;
    const spin = (until) => { const end = Date.now() + 5000; for (let n = 0; Date.now() < end && !until(); n++) for (let i = 0; i < 10000; i++) hot(i + n); };
    tiering.holdOptimizingCompiler();
    const start = Date.now(); spin(() => Date.now() - start > 300);
    const held = optimized();
    tiering.releaseOptimizingCompiler();
    spin(optimized);
    return { held, released: optimized() };`, ['--allow-natives-syntax']);
  t.equal(r.held, false, 'held: 300 ms of calls, not optimized');
  t.equal(r.released, true, 'released: optimized');
});

t.test('the hold ends by itself after MAX_HOLD_MS (a start waiting on a control plane may serve meanwhile)', async (t) => {
  const script = `const tiering = require(${JSON.stringify(MODULE)});
tiering.holdOptimizingCompiler();
const started = Date.now();
const keepAlive = setInterval(() => {
  if (tiering.optimizingCompilerHeld()) return;
  clearInterval(keepAlive);
  process.stdout.write(JSON.stringify({ max: tiering.MAX_HOLD_MS, releasedAfter: Date.now() - started }));
}, 20);`;
  const r = JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } })) as { max: number; releasedAfter: number };
  t.equal(r.max, 3000);
  t.ok(r.releasedAfter >= r.max - 20, `released after ${r.releasedAfter} ms, not before the ${r.max} ms`);
});
