/**
 * The admin home page renders in a real browser: Legate is started, headless Chromium takes a
 * screenshot of `http://<admin>/`, and the PNG is checked — right size, plausible file size,
 * and not blank (its pixels are decoded and must hold more than one colour, with a real share
 * of them differing from the background). Skipped, saying why, when Chromium is not installed
 * (Debian: `apt-get install chromium`; .ci/run installs it).
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { startGrpcBackend } from '../fakes/grpc-backend';
import { freePort, startLegate } from '../fakes/legate-process';
import { colourHistogram, decodePng, readPngHeader } from '../fakes/png';
import { bootstrapJson } from './bootstrap-builder';

const WIDTH = 1200;
const HEIGHT = 900;

function findChromium(): string | undefined {
  for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
    const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  }
  return undefined;
}

/** Runs Chromium headless once; resolves with its exit code and output. */
function screenshot(chromium: string, url: string, png: string, profile: string, timeoutMs: number): Promise<{ code: number | null; output: string }> {
  const args = [
    '--headless', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--hide-scrollbars', `--user-data-dir=${profile}`,
    `--screenshot=${png}`, `--window-size=${WIDTH},${HEIGHT}`,
  ];
  // Chromium refuses to run as root with its sandbox on.
  if (process.getuid?.() === 0) args.unshift('--no-sandbox');
  args.push(url);
  return new Promise((resolve) => {
    const child = spawn(chromium, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

function contentType(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      res.resume();
      resolve(String(res.headers['content-type'] ?? ''));
    }).on('error', reject);
  });
}

const chromium = findChromium();

t.test('headless Chromium renders the admin home page', { skip: chromium ? false : 'chromium is not installed (Debian package "chromium"); .ci/run installs it' }, async (t) => {
  const backend = await startGrpcBackend({ name: 'a', services: ['echo'] });
  t.teardown(() => backend.stop(100));
  const adminPort = await freePort();
  const listenerPort = await freePort();
  const proxy = await startLegate({ configYaml: JSON.stringify(bootstrapJson({ adminPort, listenerPort, clusters: [{ name: 'echo', endpoints: [backend.address] }] })) });
  t.teardown(() => proxy.stop());
  t.match(await contentType(adminPort), /^text\/html/, '/ is an HTML page');

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'legate-shot-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const png = path.join(dir, 'admin-home.png');
  // A loaded machine can make Chromium's first start slow: one generous attempt, then a retry.
  let run = await screenshot(chromium!, `http://127.0.0.1:${adminPort}/`, png, path.join(dir, 'profile-1'), 90_000);
  if (!fs.existsSync(png)) run = await screenshot(chromium!, `http://127.0.0.1:${adminPort}/`, png, path.join(dir, 'profile-2'), 90_000);
  t.ok(fs.existsSync(png), `Chromium wrote the screenshot (exit ${run.code}${fs.existsSync(png) ? '' : `; output: ${run.output.slice(-2000)}`})`);
  if (!fs.existsSync(png)) return;

  const bytes = fs.readFileSync(png);
  t.ok(bytes.length > 5_000 && bytes.length < 20_000_000, `plausible PNG size (${bytes.length} bytes)`);
  const header = readPngHeader(bytes);
  t.equal(header.width, WIDTH, 'width as asked');
  t.equal(header.height, HEIGHT, 'height as asked');

  const img = decodePng(bytes);
  const colours = colourHistogram(img);
  t.ok(colours.size > 1, `more than one colour (${colours.size}${colours.size >= 4096 ? '+' : ''})`);
  const background = Math.max(...colours.values());
  const drawn = 1 - background / (img.width * img.height);
  t.ok(drawn > 0.002, `something is drawn: ${(drawn * 100).toFixed(2)} % of pixels differ from the background`);
});
