// Tests for src/common/logger.ts (kept under test/unit/cli/ with the command-line tests that
// configure it).
import t from 'tap';
import { mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  activeLoggersText, compileLogFormat, configureLogging, DEFAULT_LOG_FORMAT, escapeLogMessage, flushLogs,
  levels, LOGGER_NAMES, logger, parseLogLevel, reopenLogs, setComponentLevel, setLevel, type LogRecord,
  type LogSink, type LoggerName,
} from '../../../src/common/logger';
import { applyLoggingOptions } from '../../../src/cli/apply-logging';
import { parseCommandLine } from '../../../src/cli/options';

// Tuesday 2024-03-05 13:04:09.0075 UTC (the .5 µs part is exact in binary).
const T = Date.UTC(2024, 2, 5, 13, 4, 9, 7) + 0.5;

function memorySink(): LogSink & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    write: (line) => { lines.push(line); },
    flush: () => Promise.resolve(),
    close: () => Promise.resolve(),
    reopen: () => {},
  };
}

function record(over: Partial<LogRecord> = {}): LogRecord {
  return { timeMs: T, severity: 2, name: 'upstream', source: 'src/upstream/pool.js', message: 'hello', threadId: '42', ...over };
}

const render = (format: string, over: Partial<LogRecord> = {}, escaped = false): string =>
  compileLogFormat(format, { timeZone: 'utc', escaped })(record(over));

function freshSink(): LogSink & { lines: string[] } {
  const sink = memorySink();
  configureLogging({ sink, clock: () => T, timeZone: 'utc', threadId: 42, format: DEFAULT_LOG_FORMAT, escaped: false, level: 'info' });
  return sink;
}

t.test('parseLogLevel accepts spdlog names and warn', async (t) => {
  t.equal(parseLogLevel('warn'), 'warning');
  t.equal(parseLogLevel('warning'), 'warning');
  t.equal(parseLogLevel('off'), 'off');
  t.equal(parseLogLevel('Info'), undefined);
  t.equal(parseLogLevel('err'), undefined);
});

t.test('default format renders like Envoy', async (t) => {
  const sink = freshSink();
  logger('upstream').info('hello world');
  logger('router', '/work/main/dist/src/router/route-table.js').warn('careful');
  t.same(sink.lines, [
    '[2024-03-05 13:04:09.007][42][info][upstream] [upstream:-] hello world\n',
    '[2024-03-05 13:04:09.007][42][warning][router] [src/router/route-table.js:-] careful\n',
  ]);
});

t.test('every supported flag', async (t) => {
  t.equal(render('%Y-%m-%d %T.%e'), '2024-03-05 13:04:09.007');
  t.equal(render('%H:%M:%S %X'), '13:04:09 13:04:09');
  t.equal(render('%f %F'), '007500 007500000');
  t.equal(render('%a %A %b %B'), 'Tue Tuesday Mar March');
  t.equal(render('%c'), 'Tue Mar 05 13:04:09 2024');
  t.equal(render('%C %D %x'), '24 03/05/24 03/05/24');
  t.equal(render('%I %p %r %R'), '01 PM 01:04:09 PM 13:04');
  t.equal(render('%z %E'), `+00:00 ${Math.floor(T / 1000)}`);
  t.equal(render('%t %P'), `42 ${process.pid}`);
  t.equal(render('%n %l %L'), 'upstream info I');
  t.equal(render('%l/%L', { severity: 3 }), 'warning/W');
  t.equal(render('%l/%L', { severity: 0 }), 'trace/T');
  t.equal(render('%l/%L', { severity: 5 }), 'critical/C');
  t.equal(render('%g|%s|%#|%@|%!'), 'src/upstream/pool.js|pool.js|-|src/upstream/pool.js:-|');
  t.equal(render('100%% %^%l%$'), '100% info');
  t.equal(render('%Q %'), '%Q %', 'unknown flag and trailing % print themselves');
  t.equal(render('no flags'), 'no flags');
});

t.test('padding', async (t) => {
  t.equal(render('[%8l]'), '[    info]');
  t.equal(render('[%-8l]'), '[info    ]');
  t.equal(render('[%=8l]'), '[  info  ]');
  t.equal(render('[%3!l]'), '[inf]');
  t.equal(render('[%2l]'), '[info]', 'no truncation without !');
});

t.test('Istio\'s text and JSON formats', async (t) => {
  const msg = 'said "hi"\n\tthen left ü';
  t.equal(render('%Y-%m-%dT%T.%fZ\t%l\tenvoy %n %g:%#\t%v\tthread=%t', { message: 'ready' }),
    '2024-03-05T13:04:09.007500Z\tinfo\tenvoy upstream src/upstream/pool.js:-\tready\tthread=42');
  const json = render('{"level":"%l","time":"%Y-%m-%dT%T.%fZ","scope":"envoy %n","msg":"%j","thread":"%t"}', { message: msg });
  t.same(JSON.parse(json), { level: 'info', time: '2024-03-05T13:04:09.007500Z', scope: 'envoy upstream', msg, thread: '42' });
  t.equal(render('%_', { message: 'a\nb' }), 'a\\nb');
});

t.test('--log-format-escaped escapes the message C-style', async (t) => {
  t.equal(render('[%l] %v', { message: 'a\nb\t"c" \'d\' \\ \x01\x7f ü' }, true),
    '[info] a\\nb\\t\\"c\\" \\\'d\\\' \\\\ \\001\\177 ü');
  t.equal(render('%v', { message: 'a\nb' }, false), 'a\nb', 'off by default');
  t.equal(escapeLogMessage('plain'), 'plain');
  t.equal(escapeLogMessage('\r\n'), '\\r\\n');
});

t.test('local time by default', async (t) => {
  const d = new Date(T);
  const off = -d.getTimezoneOffset();
  const z = `${off < 0 ? '-' : '+'}${String(Math.floor(Math.abs(off) / 60)).padStart(2, '0')}:${String(Math.abs(off) % 60).padStart(2, '0')}`;
  t.equal(compileLogFormat('%H %d %z')(record()), `${String(d.getHours()).padStart(2, '0')} ${String(d.getDate()).padStart(2, '0')} ${z}`);
});

t.test('component level filtering and runtime changes', async (t) => {
  const sink = freshSink();
  const up = logger('upstream');
  const cfg = logger('config');
  t.equal(up.level, 'info');
  t.equal(up.debugEnabled, false);
  t.equal(up.infoEnabled, true);
  t.equal(up.debug, up.trace, 'disabled levels share one no-op');
  up.debug('hidden');
  up.trace('hidden');
  up.info('shown');
  t.same(sink.lines.length, 1);

  t.equal(setComponentLevel('upstream', 'debug'), true);
  t.equal(up.debugEnabled, true);
  t.equal(up.traceEnabled, false);
  t.equal(cfg.debugEnabled, false, 'other components unchanged');
  const later = logger('upstream');
  t.equal(later.debugEnabled, true, 'new loggers pick up the component level');
  up.debug('now shown');
  cfg.debug('still hidden');
  t.match(sink.lines.at(-1), /\[debug\]\[upstream\] \[upstream:-\] now shown\n$/);
  t.equal(sink.lines.length, 2);

  setLevel('error');
  t.equal(up.level, 'error');
  t.equal(up.warnEnabled, false);
  t.equal(up.errorEnabled, true);
  up.warn('hidden');
  up.error('boom');
  up.critical('BOOM');
  t.equal(sink.lines.length, 4);

  up.log('error', 'via log()');
  up.log('info', 'hidden via log()');
  up.log('off', 'never');
  t.equal(sink.lines.length, 5);

  setLevel('off');
  t.equal(up.criticalEnabled, false);
  up.critical('hidden');
  t.equal(sink.lines.length, 5);

  t.equal(setComponentLevel('nosuch', 'debug'), false);
  t.throws(() => logger('nosuch' as LoggerName), { message: "unknown logger name 'nosuch'" });
});

t.test('levels() and admin /logging text', async (t) => {
  setLevel('info');
  setComponentLevel('http2', 'trace');
  const all = levels();
  t.equal(all.length, LOGGER_NAMES.length);
  t.same(all[0], { name: 'admin', level: 'info' });
  t.same(all.find((l) => l.name === 'http2'), { name: 'http2', level: 'trace' });
  for (const name of ['admin', 'config', 'connection', 'http', 'http2', 'upstream', 'router', 'pool', 'main', 'runtime', 'hc', 'dns', 'filter', 'init', 'misc', 'grpc', 'health_checker', 'dubbo']) {
    t.ok((LOGGER_NAMES as readonly string[]).includes(name), `Envoy logger ${name}`);
  }
  const text = activeLoggersText();
  t.ok(text.startsWith('active loggers:\n  admin: info\n  alternate_protocols_cache: info\n'));
  t.match(text, /\n {2}http2: trace\n/);
  t.ok(text.endsWith('  golang: info\n'));
});

t.test('command-line options drive the logger', async (t) => {
  const sink = freshSink();
  const { options, notices, errors } = parseCommandLine([
    '-c', 'x.yaml', '-l', 'warn', '--component-log-level', 'misc:error,upstream:debug', '--log-format', '%l %n: %v',
    '--log-format-escaped', '--disable-hot-restart',
  ]);
  t.same(errors, []);
  applyLoggingOptions(options, notices);
  t.equal(logger('misc').level, 'error');
  t.equal(logger('upstream').level, 'debug');
  t.equal(logger('main').level, 'warning');
  t.same(sink.lines, [], 'notices are info, below -l warn');
  logger('upstream').debug('a\nb');
  t.same(sink.lines, ['debug upstream: a\\nb\n']);
  t.same(configureLogging({ componentLevels: [['nosuch', 'info'], ['pool', 'info']] }), ['nosuch']);

  applyLoggingOptions(parseCommandLine(['-c', 'x', '--log-format', '%n %l %v']).options, ['n1', 'n2']);
  t.same(sink.lines.slice(1), ['main info n1\n', 'main info n2\n'], 'one line per notice on main at info');
});

t.test('--log-path appends through a write stream and re-opens for rotation', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'legate-log-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'envoy.log');
  configureLogging({ path: file, format: '%l %v', level: 'info' });
  const log = logger('main');
  for (let i = 0; i < 100; i++) log.info(`line ${i}`);
  await flushLogs();
  const lines = readFileSync(file, 'utf8').split('\n');
  t.equal(lines.length, 101);
  t.equal(lines[0], 'info line 0');
  t.equal(lines[99], 'info line 99');

  renameSync(file, `${file}.1`);
  log.info('to the rotated file');
  await flushLogs();
  reopenLogs();
  log.info('to the new file');
  await flushLogs();
  t.match(readFileSync(`${file}.1`, 'utf8'), /to the rotated file\n$/);
  t.equal(readFileSync(file, 'utf8'), 'info to the new file\n');

  configureLogging({ path: file }); // appends, never truncates
  log.info('appended');
  await flushLogs();
  t.equal(readFileSync(file, 'utf8'), 'info to the new file\ninfo appended\n');
  configureLogging({ sink: memorySink() });
});
