/**
 * Version strings for `--version` and admin `/server_info`, shaped like Envoy's
 * `VersionInfo::version()` (`<sha>/<version>/Clean/RELEASE/BoringSSL`) so tools that split on `/`
 * still find a version in the second field.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The Envoy release whose configuration and admin API Legate follows. */
export const ENVOY_COMPATIBLE_VERSION = '1.31';

let cachedVersion: string | undefined;

/**
 * Legate's own version, read once from the nearest `package.json` named `legate` above this file
 * (works from `src/` and from `dist/src/`); `0.0.0` if none is found.
 */
export function legateVersion(): string {
  if (cachedVersion !== undefined) return cachedVersion;
  cachedVersion = '0.0.0';
  for (let dir = __dirname; ; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'legate' && typeof pkg.version === 'string') {
        cachedVersion = pkg.version;
        break;
      }
    } catch {
      // No (readable) package.json here: keep walking up.
    }
    if (dirname(dir) === dir) break;
  }
  return cachedVersion;
}

/**
 * The build string, e.g. `0.1.0/1.31-compatible/RELEASE/OpenSSL`: Legate's version, the Envoy
 * version it is compatible with, the build type and the TLS library (Node's OpenSSL).
 */
export function versionString(): string {
  return `${legateVersion()}/${ENVOY_COMPATIBLE_VERSION}-compatible/RELEASE/OpenSSL`;
}

/** What `--version` prints, in TCLAP's layout as Envoy does: `\nlegate  version: <build>\n\n`. */
export function versionOutput(): string {
  return `\nlegate  version: ${versionString()}\n\n`;
}
