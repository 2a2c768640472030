// freePort's claims hold across the test processes tap runs side by side: a port another live
// process handed out is not handed out again, a dead process's claim is taken over, and a
// process that exits releases its claims.
import t from 'tap';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { claimPort, freePort, isPortInUse } from '../../fakes/free-port';

/**
 * A port neither freePort() (20000 up to the ephemeral range) nor the kernel's bind(0) (32768 up)
 * hands out, nor one of Istio's (15000–15090), so no test running alongside can be claiming it:
 * these tests claim ports without binding them.
 */
const unusedClaimPort = (): number => 10_000 + Math.floor(Math.random() * 5_000);

const CLAIM_FILE = (port: number): string => path.join(os.tmpdir(), 'legate-test-ports', String(port));

/** A node process that claims `port` through the same module, reports, then waits for stdin to close. */
function claimInChild(port: number): Promise<{ claimed: boolean; pid: number; exit: () => Promise<void>; kill: () => Promise<void> }> {
  const script = `const { claimPort } = require(${JSON.stringify(require.resolve('../../fakes/free-port'))});
process.stdout.write(String(claimPort(${port})) + '\\n');
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.stdout.once('data', (d: Buffer) => resolve({
      claimed: d.toString().trim() === 'true',
      pid: child.pid ?? -1,
      exit: () => {
        child.stdin.end();
        return exited;
      },
      kill: () => {
        child.kill('SIGKILL');
        return exited;
      },
    }));
  });
}

t.test('a port a live process claimed is refused; its normal exit releases it', async (t) => {
  const port = await freePort();
  t.notOk(await isPortInUse(port), 'the handed-out port is free');
  t.equal(claimPort(port), false, 'and claimed by this process');
  const again = unusedClaimPort();
  const child = await claimInChild(again);
  t.equal(child.claimed, true, 'the other process claims the port');
  t.equal(fs.readFileSync(CLAIM_FILE(again), 'utf8'), String(child.pid), 'the claim names its pid');
  t.equal(claimPort(again), false, 'this process may not hand it out while the claimant lives');
  await child.exit();
  t.notOk(fs.existsSync(CLAIM_FILE(again)), 'exiting removed the claim');
  t.equal(claimPort(again), true, 'then this process may');
});

t.test("a killed process's claim is stale and taken over", async (t) => {
  const port = unusedClaimPort();
  const child = await claimInChild(port);
  t.equal(child.claimed, true, 'the other process claims the port');
  await child.kill();
  t.ok(fs.existsSync(CLAIM_FILE(port)), 'SIGKILL left the claim behind');
  t.equal(claimPort(port), true, 'a dead pid does not hold a port');
  t.equal(fs.readFileSync(CLAIM_FILE(port), 'utf8'), String(process.pid), 'the claim is now ours');
});

t.test('freePort never returns the same port twice in a process', async (t) => {
  const ports = new Set<number>();
  for (let i = 0; i < 20; i++) ports.add(await freePort());
  t.equal(ports.size, 20);
});

t.test('ports come from below the ephemeral range, where no listen(0) or connect() lands', { skip: fs.existsSync('/proc/sys/net/ipv4/ip_local_port_range') ? false : 'not Linux' }, async (t) => {
  const low = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
  for (let i = 0; i < 20; i++) {
    const port = await freePort();
    t.ok(port >= 20_000 && port < Math.min(low, 32_768), `port ${port} is in [20000, ${Math.min(low, 32_768)})`);
  }
  // The premise: what the kernel picks for a server on port 0 is in the ephemeral range.
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const picked = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  t.ok(picked >= low, `listen(0) got ${picked}, at or above ${low}`);
});
