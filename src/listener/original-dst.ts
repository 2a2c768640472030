/**
 * The original destination of a connection iptables REDIRECTed to us: getsockopt
 * SO_ORIGINAL_DST (IPv4, SOL_IP) / IP6T_SO_ORIGINAL_DST (IPv6, SOL_IPV6), both option 80, through
 * the small Node-API addon in native/original-dst.cc (Node has no getsockopt). Built by
 * `npm run build` / scripts/build-native.js into dist/src/native/original-dst.node.
 *
 * TPROXY needs no syscall: a transparent listener's accepted socket already has the original
 * destination as its local address.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Server, Socket } from 'node:net';

interface Addon {
  originalDst(fd: number, family: number): [string, number] | null;
  setTransparent(fd: number, family: number): void;
}

let addon: Addon | undefined;
let loadError: string | undefined;

/** Where the addon may be: next to the compiled sources, or in build/ of a checkout. */
function candidates(): string[] {
  return [
    path.join(__dirname, '..', 'native', 'original-dst.node'),
    path.join(__dirname, '..', '..', '..', 'build', 'original-dst.node'),
  ];
}

/** Loads the addon once; returns undefined with {@link originalDstUnavailable} set when it cannot. */
function load(): Addon | undefined {
  if (addon || loadError) return addon;
  if (process.platform !== 'linux') {
    loadError = `SO_ORIGINAL_DST needs Linux (this is ${process.platform})`;
    return undefined;
  }
  const file = candidates().find((f) => fs.existsSync(f));
  if (!file) {
    loadError = `the SO_ORIGINAL_DST addon is not built (looked for ${candidates().join(', ')}); run "npm run build" (needs g++ and Node's headers)`;
    return undefined;
  }
  try {
    addon = require(file) as Addon;
  } catch (err) {
    loadError = `cannot load the SO_ORIGINAL_DST addon ${file}: ${(err as Error).message}`;
  }
  return addon;
}

/** Why original destinations cannot be read here, or undefined when they can. */
export function originalDstUnavailable(): string | undefined {
  load();
  return addon ? undefined : loadError;
}

function fdOf(handleOwner: Socket | Server): number {
  const fd = (handleOwner as unknown as { _handle?: { fd?: number } })._handle?.fd;
  return typeof fd === 'number' ? fd : -1;
}

/**
 * The destination the client originally connected to, or undefined when the connection was not
 * redirected (no NAT entry) or the socket is gone. Throws when the addon is missing.
 */
export function readOriginalDst(socket: Socket): { host: string; port: number } | undefined {
  const a = load();
  if (!a) throw new Error(loadError);
  const fd = fdOf(socket);
  if (fd < 0) return undefined;
  const family = socket.localFamily === 'IPv6' && !(socket.localAddress ?? '').startsWith('::ffff:') ? 6 : 4;
  const r = a.originalDst(fd, family);
  return r ? { host: r[0], port: r[1] } : undefined;
}

/** IP_TRANSPARENT on a bound listening socket (TPROXY); needs CAP_NET_ADMIN. */
export function setTransparent(server: Server, family: 4 | 6): void {
  const a = load();
  if (!a) throw new Error(loadError);
  const fd = fdOf(server);
  if (fd < 0) throw new Error('the listening socket has no file descriptor');
  a.setTransparent(fd, family);
}
