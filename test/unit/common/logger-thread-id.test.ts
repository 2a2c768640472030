// `%t` defaults to the pid on the main thread, and node:worker_threads (asked which thread this
// is) is required at the first line logged, not when the logger loads: a sidecar logging at
// `warning` logs nothing at start. Runs in a child process, with its own module loader.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import t from 'tap';

const LOGGER = path.join(__dirname, '..', '..', '..', 'src', 'common', 'logger.js');

t.test('the thread id is the pid, found at the first line', async (t) => {
  const script = `
    const Module = require('node:module');
    const asked = [];
    const load = Module._load;
    Module._load = function (request, parent, ...rest) {
      if (/worker_threads/.test(request) && parent && parent.filename === ${JSON.stringify(LOGGER)}) asked.push(request);
      return load.call(this, request, parent, ...rest);
    };
    const { logger, flushLogs } = require(${JSON.stringify(LOGGER)});
    const before = asked.length;
    logger('main').warn('hello');
    const after = asked.length;
    flushLogs().then(() => process.stdout.write(JSON.stringify({ before, after, pid: process.pid })));
  `;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  const out = JSON.parse(r.stdout) as { before: number; after: number; pid: number };
  t.equal(out.before, 0, 'worker_threads not required when the logger loads');
  t.equal(out.after, 1, 'required to log the first line');
  t.match(r.stderr, new RegExp(`^\\[[^\\]]+\\]\\[${out.pid}\\]\\[warning\\]\\[main\\] .*hello`, 'm'), `the line has the pid: ${r.stderr.trim()}`);
});
