/**
 * Finding a TCP port nobody listens on, for configs that need a fixed port
 * (Legate's admin and listeners are written into a bootstrap before it starts).
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** Ports this process has handed out: the kernel may offer a just-closed port again at once. */
const handedOut = new Set<number>();

/**
 * Claims across the test processes tap runs side by side: one file per handed-out port, holding
 * the claimant's pid. Between our close and the proxy's bind, the kernel may offer the same port
 * to another test file's freePort(); the claim makes that one ask again.
 */
const CLAIMS_DIR = path.join(os.tmpdir(), 'legate-test-ports');
const claimed: string[] = [];

/**
 * Where freePort looks: above Istio's ports (15000–15090) and below the kernel's ephemeral range
 * (/proc/sys/net/ipv4/ip_local_port_range, 32768–60999 by default), so that no listen(0) or
 * connect() of any process can take the port between our check and the proxy's bind. Ports from
 * the kernel's bind(0) could: a suite run once lost its admin port to a test server listening on
 * port 0 in another tap process. Undefined when the ephemeral range starts too low to leave room.
 */
const SEARCH_FROM = 20_000;
let searchRange: readonly [number, number] | undefined | null = null;

function portSearchRange(): readonly [number, number] | undefined {
  if (searchRange !== null) return searchRange;
  let ephemeralLow = 32_768;
  try {
    const low = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (Number.isInteger(low) && low > 0) ephemeralLow = low;
  } catch {
    // Not Linux: its default range.
  }
  const to = Math.min(ephemeralLow, 32_768);
  searchRange = to - SEARCH_FROM >= 1000 ? [SEARCH_FROM, to] : undefined;
  return searchRange;
}

/**
 * A TCP port on `host` (default `'127.0.0.1'`) that nothing listens on and that no other
 * freePort() of this or another live test process has handed out (a test asking for an admin
 * port and a listener port before binding either got the same one back; two test files running
 * side by side got each other's). Chosen below the ephemeral range (see portSearchRange) and
 * checked by binding it; where there is no such range, the kernel's bind(0) choice.
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const range = portSearchRange();
  for (let attempt = 0; ; attempt++) {
    // A thousand misses in the range (it is full): the kernel's choice instead.
    const searching = range !== undefined && attempt < 1000;
    const port = searching ? range[0] + Math.floor(Math.random() * (range[1] - range[0])) : await kernelPort(host);
    if (handedOut.has(port)) continue;
    if (searching && !(await canBind(port, host))) continue;
    handedOut.add(port);
    if (claimPort(port)) return port;
  }
}

/** Claims `port` for this process unless a live process holds it (a dead one's claim is stale). */
export function claimPort(port: number): boolean {
  if (claimed.length === 0) {
    fs.mkdirSync(CLAIMS_DIR, { recursive: true });
    process.once('exit', () => {
      for (const f of claimed) fs.rmSync(f, { force: true });
    });
  }
  const file = path.join(CLAIMS_DIR, String(port));
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
      claimed.push(file);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let owner: string;
    try {
      owner = fs.readFileSync(file, 'utf8');
    } catch {
      continue; // released meanwhile: try again
    }
    // Empty: the claimant created the file and has not written its pid yet.
    if (owner === '' || isAlive(Number(owner))) return false;
    fs.rmSync(file, { force: true });
  }
  return false;
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether `host:port` can be listened on now (then closed again). */
function canBind(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

function kernelPort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Resolve whether something accepts TCP connections on `host:port` (within `timeoutMs`, default 500). */
export function isPortInUse(port: number, host = '127.0.0.1', timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    const done = (inUse: boolean): void => {
      socket.destroy();
      resolve(inUse);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
