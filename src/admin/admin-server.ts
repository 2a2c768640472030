/**
 * The admin listener (Envoy's admin API). It serves `/` (HTML home page) and `/help` itself;
 * every other endpoint is registered by its owner (server.ts, stats/admin-endpoints.ts,
 * admin/endpoints.ts). Mutating endpoints answer only POST, as Envoy's do.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { logger } from '../common/logger';
import type { SocketAddress } from '../snapshot/model';
import { formatAddress } from '../snapshot/model';

const log = logger('admin');

export interface AdminHandler {
  readonly help: string;
  readonly mutates: boolean;
  /** A promise when the answer needs other processes (`--concurrency`: the workers' stats). */
  handle(url: URL): AdminResponse | Promise<AdminResponse>;
}

export interface AdminResponse {
  status: number;
  contentType: string;
  body: string;
}

export class AdminServer {
  private readonly server: http.Server;
  private readonly handlers = new Map<string, AdminHandler>();
  boundAddress = '';

  constructor(private readonly address: SocketAddress) {
    this.server = http.createServer(this.onRequest);
  }

  register(path: string, handler: AdminHandler): void {
    this.handlers.set(path, handler);
  }

  listen(): Promise<void> {
    const a = this.address;
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        reject(new Error(`admin: cannot bind to ${formatAddress(a)}: ${err.code === 'EADDRINUSE' ? 'address already in use' : err.message}`));
      };
      this.server.once('error', onError);
      const done = (): void => {
        this.server.removeListener('error', onError);
        const addr = this.server.address();
        this.boundAddress = typeof addr === 'string' ? addr : addr ? formatAddress({ kind: 'tcp', host: addr.address, port: addr.port }) : '';
        log.info(`admin address: ${this.boundAddress}`);
        resolve();
      };
      if (a.kind === 'pipe') this.server.listen(a.path, done);
      else this.server.listen(a.port, a.host, done);
    });
  }

  close(): void {
    this.server.close();
    this.server.closeAllConnections();
  }

  private readonly onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://admin');
    if (url.pathname === '/' || url.pathname === '/help') {
      this.index(url.pathname === '/', res);
      return;
    }
    const h = this.handlers.get(url.pathname);
    if (!h) {
      send(res, 404, 'text/plain; charset=UTF-8', `invalid path. admin commands are:\n${this.helpText()}`);
      return;
    }
    if (h.mutates && req.method !== 'POST') {
      send(res, 405, 'text/plain; charset=UTF-8', `Method ${req.method} not allowed, POST required.\n`);
      return;
    }
    const fail = (err: Error): void => {
      log.error(`admin ${url.pathname}: ${err.message}`);
      send(res, 500, 'text/plain; charset=UTF-8', `${err.message}\n`);
    };
    try {
      const r = h.handle(url);
      if (r instanceof Promise) r.then((a) => send(res, a.status, a.contentType, a.body), fail);
      else send(res, r.status, r.contentType, r.body);
    } catch (err) {
      fail(err as Error);
    }
  };

  /** Every endpoint, `/` and `/help` included, sorted by path (as Envoy lists them). */
  private entries(): Array<[string, { readonly help: string; readonly mutates: boolean }]> {
    const all: Array<[string, { readonly help: string; readonly mutates: boolean }]> = [
      ['/', { help: 'Admin home page', mutates: false }],
      ['/help', { help: 'print out list of admin commands', mutates: false }],
      ...this.handlers.entries(),
    ];
    return all.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  private helpText(): string {
    return this.entries().map(([p, h]) => `  ${p}: ${h.help}`).join('\n') + '\n';
  }

  private index(html: boolean, res: ServerResponse): void {
    if (!html) {
      send(res, 200, 'text/plain; charset=UTF-8', `admin commands are:\n${this.helpText()}`);
      return;
    }
    // Envoy's home page shape: one row per endpoint, a link for reads, a POST button for
    // endpoints that change server state.
    const rows = this.entries()
      .filter(([p]) => p !== '/')
      .map(([p, h]) => (h.mutates
        ? `<tr class="post"><td><form action="${p}" method="post"><button type="submit">${p}</button></form></td><td>${escapeHtml(h.help)}</td></tr>`
        : `<tr><td><a href="${p}">${p}</a></td><td>${escapeHtml(h.help)}</td></tr>`))
      .join('\n');
    send(res, 200, 'text/html; charset=UTF-8', `<!doctype html>
<html><head><meta charset="utf-8"><title>Legate Admin</title>
<style>
body { font-family: sans-serif; margin: 2em; }
table { border-collapse: collapse; }
td { padding: 0.3em 1em; border-bottom: 1px solid #ddd; vertical-align: middle; }
tr.post button { font-family: monospace; cursor: pointer; }
a { font-family: monospace; }
form { margin: 0; }
</style></head>
<body><h1>Legate Admin</h1>
<p>Envoy-compatible admin API. Links read state; buttons (POST) change it.</p>
<table><thead><tr><th>Command</th><th>Description</th></tr></thead><tbody>
${rows}
</tbody></table></body></html>
`);
  }
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-cache, max-age=0', 'x-content-type-options': 'nosniff' });
  res.end(body);
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}
