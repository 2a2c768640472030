/**
 * Filesystem subscriptions (`path_config_source` / deprecated `path`): the file holds a
 * DiscoveryResponse in YAML or JSON whose `resources` are the complete set for one type,
 * as Envoy reads them (LDS and CDS from dynamic_resources; RDS and EDS from the config sources
 * of listeners and clusters). The file is re-read when it changes; as with Envoy, writers should
 * replace it atomically (write a temp file, then rename it over). With `watched_directory`, any
 * change in that directory triggers the re-read instead (a Kubernetes ConfigMap mount swaps a
 * symlink there, and the file's own name never changes). A bad file is logged and ignored: the
 * last good configuration keeps serving.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseConfigText } from '../bootstrap/read-config-file';
import { logger } from '../common/logger';
import { noteConfigBytes } from '../common/startup-tiering';
import { lookupMessage } from '../proto/envoy-protos';
import { decodeJson } from '../proto/proto-json';
import { resourceNameOf } from './ads/resource-decoder';
import type { ProtoObj } from './resources/decode-context';
import { TYPE } from './type-urls';
import type { XdsManager } from './xds-manager';

const log = logger('config');

export class FileSubscription {
  private watcher: fs.FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastText: string | undefined;
  private names = new Set<string>();
  /** The reload in progress: reloads run one at a time (each diffs against the names the previous one committed). */
  private reloading: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly file: string,
    private readonly typeUrl: string,
    private readonly xds: XdsManager,
    private readonly watchedDirectory?: string,
  ) {}

  start(): void {
    void this.reload();
    const dir = this.watchedDirectory ?? path.dirname(path.resolve(this.file));
    const base = path.basename(this.file);
    try {
      // Watch the directory: an atomic rename replaces the file's inode, which a watch on
      // the file itself would miss. A watched_directory reloads on any change in it.
      this.watcher = fs.watch(dir, (_event, name) => {
        if (this.watchedDirectory !== undefined || name === null || name === base) this.schedule();
      });
      this.watcher.on('error', (err) => log.warn(`watching ${this.file}: ${err.message}`));
    } catch (err) {
      log.error(`cannot watch ${this.file}: ${(err as Error).message}; changes will not be picked up`);
    }
  }

  close(): void {
    this.watcher?.close();
    if (this.timer) clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.reload(), 50);
    this.timer.unref();
  }

  /** Reads and applies the file; resolves to the errors (empty when applied or unchanged). */
  reload(): Promise<string[]> {
    const run = this.reloading.then(() => this.reloadNow());
    this.reloading = run.catch(() => undefined);
    return run;
  }

  private async reloadNow(): Promise<string[]> {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (err) {
      const msg = `${this.file}: ${(err as Error).message}`;
      log.warn(`${msg}; keeping the last good configuration`);
      return [msg];
    }
    if (text === this.lastText) return [];
    noteConfigBytes(text.length);
    const errors = await this.apply(text);
    if (errors.length) log.warn(`${this.file}: update rejected, keeping the last good configuration: ${errors.join('; ')}`);
    else this.lastText = text;
    return errors;
  }

  private async apply(text: string): Promise<string[]> {
    const parsed = parseConfigText(text, this.file.endsWith('.json') ? 'json' : 'yaml', this.file);
    if ('error' in parsed) return [parsed.error];
    const type = lookupMessage('envoy.service.discovery.v3.DiscoveryResponse');
    if (!type) return ['internal: DiscoveryResponse proto not found'];
    const decoded = decodeJson(type, parsed.json);
    if (decoded.errors.length) return decoded.errors.map((e) => `${e.path}: ${e.message}`);
    const response = decoded.value as ProtoObj;
    const changed = new Map<string, { resource: ProtoObj; version: string }>();
    const version = String(response['version_info'] ?? '');
    const errors: string[] = [];
    ((response['resources'] ?? []) as ProtoObj[]).forEach((r, i) => {
      if (r['@type'] !== this.typeUrl) {
        errors.push(`resources[${i}]: expected ${this.typeUrl}, got ${String(r['@type'])}`);
        return;
      }
      const name = resourceNameOf(this.typeUrl, r) ?? '';
      if (!name) errors.push(`resources[${i}]: ${this.typeUrl === TYPE.endpoints ? 'cluster_name' : 'name'} is required`);
      else if (changed.has(name)) errors.push(`resources[${i}]: duplicate name "${name}"`);
      else changed.set(name, { resource: r, version });
    });
    if (errors.length) return errors;
    const removed = [...this.names].filter((n) => !changed.has(n));
    const rejected = await this.xds.onUpdate(this.typeUrl, { changed, removed, version, isFullState: true });
    if (rejected.length === 0) this.names = new Set(changed.keys());
    return rejected;
  }
}
