/**
 * Summary of a V8 `.cpuprofile` (what `node --cpu-prof` writes): self time per
 * function and per component (our src/ directories, node internals, V8), idle
 * excluded, so a profile of Legate under load reads as "where the CPU goes".
 */
import fs from 'node:fs';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
  readonly startTime: number;
  readonly endTime: number;
}

export interface SelfTimeEntry {
  readonly name: string;
  readonly where: string;
  readonly component: string;
  readonly ms: number;
  /** Share of busy (non-idle) time, 0–100. */
  readonly percent: number;
}

export interface ProfileSummary {
  readonly file: string;
  readonly wallMs: number;
  readonly busyMs: number;
  readonly functions: readonly SelfTimeEntry[];
  readonly components: readonly { readonly component: string; readonly ms: number; readonly percent: number }[];
}

/** Short location: repo-relative for our files (dist/…/x.js → x.js path under src/), `node:` ids kept. */
function shortUrl(url: string): string {
  if (url === '') return '';
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return url.slice(dist + '/dist/'.length);
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) return url.slice(modules + '/node_modules/'.length);
  return url.replace(/^file:\/\//, '');
}

/** Which part of the system a frame belongs to. */
export function componentOf(name: string, url: string): string {
  if (url === '') return name.startsWith('(') ? `V8 ${name}` : 'V8/native';
  const short = shortUrl(url);
  if (short.startsWith('src/')) return short.split('/').slice(0, 2).join('/');
  if (short.startsWith('node:internal/http2')) return 'node:http2';
  if (short.startsWith('node:internal/streams') || short.startsWith('node:stream')) return 'node:streams';
  if (short.startsWith('node:internal/timers') || short.startsWith('node:timers')) return 'node:timers';
  if (short.startsWith('node:internal/process') || short.startsWith('node:events') || short.startsWith('node:internal/event')) return 'node:events/process';
  if (short.startsWith('node:')) return 'node (other)';
  return short.split('/')[0] ?? short;
}

export function summarizeCpuProfile(file: string, top = 25): ProfileSummary {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const functions = new Map<string, { name: string; where: string; component: string; us: number }>();
  const components = new Map<string, number>();
  let busyUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (node === undefined) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') continue;
    busyUs += us;
    const name = functionName === '' ? '(anonymous)' : functionName;
    const where = url === '' ? '' : `${shortUrl(url)}:${lineNumber + 1}`;
    const key = `${name}@${where}`;
    const component = componentOf(name, url);
    const entry = functions.get(key) ?? { name, where, component, us: 0 };
    entry.us += us;
    functions.set(key, entry);
    components.set(component, (components.get(component) ?? 0) + us);
  }
  const pct = (us: number): number => (busyUs > 0 ? (100 * us) / busyUs : 0);
  return {
    file,
    wallMs: (profile.endTime - profile.startTime) / 1000,
    busyMs: busyUs / 1000,
    functions: [...functions.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((f) => ({ name: f.name, where: f.where, component: f.component, ms: f.us / 1000, percent: pct(f.us) })),
    components: [...components.entries()].sort((a, b) => b[1] - a[1]).map(([component, us]) => ({ component, ms: us / 1000, percent: pct(us) })),
  };
}

/** Markdown: component shares, then the top self-time functions. */
export function renderProfileSummary(summary: ProfileSummary): string {
  const lines = [
    `Profile \`${summary.file}\`: ${summary.busyMs.toFixed(0)} ms busy of ${summary.wallMs.toFixed(0)} ms sampled.`,
    '',
    '| component | self ms | % of busy |',
    '|---|---:|---:|',
    ...summary.components.map((c) => `| ${c.component} | ${c.ms.toFixed(0)} | ${c.percent.toFixed(1)} |`),
    '',
    '| function | where | self ms | % of busy |',
    '|---|---|---:|---:|',
    ...summary.functions.map((f) => `| \`${f.name}\` | ${f.where} | ${f.ms.toFixed(0)} | ${f.percent.toFixed(1)} |`),
  ];
  return lines.join('\n') + '\n';
}

if (require.main === module) {
  const file = process.argv[2];
  if (file === undefined) {
    process.stderr.write('usage: node dist/bench/macro/cpu-profile-summary.js <file.cpuprofile> [top]\n');
    process.exit(2);
  }
  process.stdout.write(renderProfileSummary(summarizeCpuProfile(file, Number(process.argv[3] ?? 25))));
}
