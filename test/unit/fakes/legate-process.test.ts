import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { adminPortOf, freePort, legateCommand, startLegate, writeTempConfig } from '../../fakes/legate-process';
import { isPortInUse } from '../../fakes/free-port';
import { repoRoot } from '../../fakes/repo-root';

const fake = path.join(__dirname, 'fixtures', 'fake-legate.js');
const config = (port: number): string => `admin:\n  address:\n    socket_address: { address: 127.0.0.1, port_value: ${port} }\n`;

t.test('freePort / isPortInUse / writeTempConfig / adminPortOf', async (t) => {
  const port = await freePort();
  t.ok(port > 0 && port < 65536);
  t.equal(await isPortInUse(port), false);
  const file = writeTempConfig(config(port));
  t.equal(fs.readFileSync(file, 'utf8'), config(port));
  t.equal(adminPortOf(config(port)), port);
  t.equal(adminPortOf(JSON.stringify({ admin: { address: { socket_address: { port_value: 9901 } } } })), 9901);
  t.equal(adminPortOf('static_resources: {}\n'), undefined);
});

t.test('legateCommand prefers bin/legate, else dist/src/main.js', async (t) => {
  const { command, args } = legateCommand();
  const bin = path.join(repoRoot(), 'bin', 'legate');
  if (fs.existsSync(bin)) t.ok(command === bin || args[0] === bin);
  else t.same(args, [path.join(repoRoot(), 'dist', 'src', 'main.js')]);
  t.ok(fs.existsSync(path.join(repoRoot(), 'package.json')));
});

t.test('start waits for /ready, captures output, stops with SIGTERM', async (t) => {
  const port = await freePort();
  const legate = await startLegate({ configYaml: config(port), entry: fake, args: ['--log-level', 'debug'] });
  t.equal(legate.adminPort, port);
  t.ok(legate.pid > 0);
  t.match(await legate.waitForLine(/admin listening/), String(port));
  t.match(legate.stderr.join('\n'), /args=-c .*bootstrap\.yaml --log-level debug/);
  const ready = await legate.admin('/ready');
  t.equal(ready.status, 200);
  t.equal(ready.body, 'LIVE\n');
  const exit = await legate.stop();
  t.same(exit, { code: 0, signal: null });
  t.ok(legate.stdout.includes('draining'));
});

t.test('a crash before ready rejects with the stderr', async (t) => {
  const port = await freePort();
  await t.rejects(
    startLegate({ configYaml: config(port), entry: fake, env: { FAKE_LEGATE_MODE: 'crash' } }),
    /exited with code 3[\s\S]*invalid bootstrap/,
  );
});

t.test('never ready: times out and kills the child', async (t) => {
  const port = await freePort();
  await t.rejects(
    startLegate({ configYaml: config(port), entry: fake, env: { FAKE_LEGATE_MODE: 'never-ready' }, readyTimeoutMs: 2500 }),
    /did not answer 200 within 2500 ms[\s\S]*fake legate starting/,
  );
  t.equal(await isPortInUse(port), false, 'child is gone');
});

t.test('stop escalates to SIGKILL; kill() works', async (t) => {
  const port = await freePort();
  const stubborn = await startLegate({ configYaml: config(port), entry: fake, env: { FAKE_LEGATE_MODE: 'ignore-sigterm' } });
  t.same(await stubborn.stop('SIGTERM', 300), { code: null, signal: 'SIGKILL' });

  const port2 = await freePort();
  const file = writeTempConfig(config(port2));
  const other = await startLegate({ configPath: file, entry: fake });
  t.equal(other.configPath, file);
  other.kill();
  t.same(await other.exited, { code: null, signal: 'SIGKILL' });
  t.same(await other.stop(), { code: null, signal: 'SIGKILL' }, 'stop after exit returns the exit');
});

t.test('bad options', async (t) => {
  await t.rejects(startLegate({}), /exactly one of configYaml and configPath/);
});
