/**
 * Admin endpoints beyond the server's own (/ready, /server_info, /clusters, /config_dump, stats):
 *
 *   GET  /listeners         `name::address` lines; `?format=json`: envoy.admin.v3.ListenersInfo
 *   POST /logging           list levels; `?level=`, `?<component>=<level>`, `?paths=a:debug,b:info`
 *   GET  /runtime           envoy.admin.v3.Runtime with no layers (Legate has no runtime layers)
 *   POST /runtime_modify    503 "No admin layer specified", Envoy's answer when there is no admin layer
 *   GET  /memory            envoy.admin.v3.MemoryInfo from process.memoryUsage()
 *   POST /drain_listeners   `?inboundonly`, `?graceful`
 *   GET  /certs             envoy.admin.v3.Certificates: none (no TLS)
 *   POST /reopen_logs       reopen access-log files (as SIGUSR1 does)
 *
 * Bodies, status codes and messages follow Envoy's admin handlers (source/server/admin/*.cc).
 */
import { reopenAccessLogs } from '../access-log/access-logger';
import { LOG_LEVELS, activeLoggersText, isLoggerName, parseLogLevel, setComponentLevel, setLevel, type LogLevel } from '../common/logger';
import type { ListenerModel, SocketAddress } from '../snapshot/model';
import type { AdminHandler } from './admin-server';

const TEXT = 'text/plain; charset=UTF-8';
const JSON_TYPE = 'application/json';

/** What these endpoints read of the listeners (the ListenerManager). */
export interface ListenerView {
  all(): ReadonlyArray<{ readonly model: ListenerModel; readonly boundAddress: string }>;
  /** Drains the listeners `which` selects (stop accepting; GOAWAY / close HTTP/1.1 when idle). */
  drainWhere(which: (model: ListenerModel) => boolean): void;
}

export interface AdminRegistry {
  register(path: string, handler: AdminHandler): void;
}

export function registerAdminEndpoints(admin: AdminRegistry, listeners: ListenerView): void {
  admin.register('/listeners', {
    help: 'print listener info',
    mutates: false,
    handle: (url) => {
      const list = listeners.all();
      if (url.searchParams.get('format') === 'json') {
        const listener_statuses = list.map((l) => ({ name: l.model.name, local_address: addressJson(boundOrModel(l)) }));
        return { status: 200, contentType: JSON_TYPE, body: JSON.stringify({ listener_statuses }, null, 2) + '\n' };
      }
      return { status: 200, contentType: TEXT, body: list.map((l) => `${l.model.name}::${l.boundAddress || formatSocket(l.model.address)}\n`).join('') };
    },
  });
  admin.register('/logging', { help: 'query/change logging levels', mutates: true, handle: (url) => logging(url) });
  admin.register('/runtime', {
    help: 'print runtime values',
    mutates: false,
    handle: () => ({ status: 200, contentType: JSON_TYPE, body: JSON.stringify({ layers: [], entries: {} }, null, 2) + '\n' }),
  });
  admin.register('/runtime_modify', {
    help: 'Adds or modifies runtime values as passed in query parameters (Legate has no runtime layers: always refused)',
    mutates: true,
    handle: (url) => {
      if ([...url.searchParams.keys()].length === 0) {
        return { status: 400, contentType: TEXT, body: 'usage: /runtime_modify?key1=value1&key2=value2&keyN=valueN\n       or send the parameters as form values\nuse an empty value to remove a previously added override' };
      }
      // Envoy's answer when the runtime has no admin layer (Runtime::LoaderImpl::mergeValues).
      return { status: 503, contentType: TEXT, body: 'No admin layer specified' };
    },
  });
  admin.register('/memory', {
    help: 'print current allocation/heap usage',
    mutates: false,
    handle: () => ({ status: 200, contentType: JSON_TYPE, body: JSON.stringify(memoryInfo(), null, 2) + '\n' }),
  });
  admin.register('/drain_listeners', {
    help: 'drain listeners (?inboundonly: only INBOUND ones; ?graceful: graceful drain)',
    mutates: true,
    handle: (url) => {
      const graceful = url.searchParams.has('graceful');
      // Envoy's answer; with `graceful`, skip_exit means "drain connections but keep listening",
      // which Legate's drain cannot separate: refused rather than silently doing something else.
      if (url.searchParams.has('skip_exit')) return { status: 400, contentType: TEXT, body: graceful ? 'skip_exit is not supported by Legate\n' : 'skip_exit requires graceful\n' };
      const inboundOnly = url.searchParams.has('inboundonly');
      listeners.drainWhere((m) => !inboundOnly || m.trafficDirection === 'INBOUND');
      return { status: 200, contentType: TEXT, body: 'OK\n' };
    },
  });
  admin.register('/reopen_logs', {
    help: 'reopen access logs',
    mutates: true,
    handle: () => {
      reopenAccessLogs();
      return { status: 200, contentType: TEXT, body: 'OK\n' };
    },
  });
  admin.register('/certs', {
    help: 'print certs on machine',
    mutates: false,
    handle: () => ({ status: 200, contentType: JSON_TYPE, body: JSON.stringify({ certificates: [] }, null, 2) + '\n' }),
  });
}

/**
 * Envoy's handlerLogging: with no parameter, the list; `level` sets every logger; one
 * `<name>=<level>` or `paths=name:level,...` sets those. A bad request gets 400, the error,
 * the usage and the list (as Envoy answers).
 */
function logging(url: URL): { status: number; contentType: string; body: string } {
  const error = changeLogLevels(url.searchParams);
  let body = '';
  let status = 200;
  if (error) {
    status = 400;
    body += `error: ${error}\n\n`;
    body += 'usage: /logging?<name>=<level> (change single level)\n';
    body += 'usage: /logging?paths=name1:level1,name2:level2,... (change multiple levels)\n';
    body += 'usage: /logging?level=<level> (change all levels)\n';
    body += `levels: ${LOG_LEVELS.map((l) => `${l} `).join('')}\n`;
  }
  body += activeLoggersText() + '\n';
  return { status, contentType: TEXT, body };
}

/** @returns an error message, or undefined when applied (nothing is changed on error). */
function changeLogLevels(params: URLSearchParams): string | undefined {
  // Empty level/paths come from the HTML form and mean "not given".
  const entries = [...params.entries()].filter(([k, v]) => !((k === 'level' || k === 'paths') && v === ''));
  if (entries.length === 0) return undefined;
  if (entries.length !== 1) return 'invalid number of parameters';
  const [key, value] = entries[0]!;
  if (key === 'level') {
    const level = parseLogLevel(value);
    if (!level) return `unknown logger level`;
    setLevel(level);
    return undefined;
  }
  const pairs: Array<[string, string]> = key === 'paths'
    ? value.split(',').filter((p) => p.trim() !== '').map((p) => { const i = p.indexOf(':'); return i < 0 ? [p, ''] : [p.slice(0, i), p.slice(i + 1)]; })
    : [[key, value]];
  const valid: Array<[string, LogLevel]> = [];
  for (const [name, lv] of pairs) {
    if (key === 'paths' && (name === '' || lv === '')) return 'empty logger name or empty logger level';
    const level = parseLogLevel(lv);
    if (!level) return `unknown logger level`;
    if (!isLoggerName(name)) return `unknown logger name`;
    valid.push([name, level]);
  }
  for (const [name, level] of valid) setComponentLevel(name, level);
  return undefined;
}

/** envoy.admin.v3.MemoryInfo (uint64 fields as JSON strings, as proto3 JSON writes them). */
function memoryInfo(): Record<string, string> {
  const m = process.memoryUsage();
  return {
    allocated: String(m.heapUsed),
    heap_size: String(m.heapTotal),
    pageheap_unmapped: '0',
    pageheap_free: String(Math.max(0, m.heapTotal - m.heapUsed)),
    total_thread_cache: '0',
    total_physical_bytes: String(m.rss),
  };
}

/** The address actually bound (port 0 resolved), else the configured one. */
function boundOrModel(l: { readonly model: ListenerModel; readonly boundAddress: string }): SocketAddress {
  const a = l.model.address;
  if (a.kind !== 'tcp' || !l.boundAddress) return a;
  const port = Number(l.boundAddress.slice(l.boundAddress.lastIndexOf(':') + 1));
  return Number.isFinite(port) ? { kind: 'tcp', host: a.host, port } : a;
}

/** envoy.config.core.v3.Address as proto3 JSON. */
function addressJson(a: SocketAddress): Record<string, unknown> {
  if (a.kind === 'pipe') return { pipe: { path: a.path } };
  return { socket_address: { address: a.host, port_value: a.port } };
}

function formatSocket(a: SocketAddress): string {
  return a.kind === 'pipe' ? a.path : a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
