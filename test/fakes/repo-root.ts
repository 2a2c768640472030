/**
 * Locating files of the Legate repository from compiled code.
 *
 * Everything runs from `dist/` (e.g. `dist/test/fakes/repo-root.js`), so paths are
 * found by walking up from this file to the first directory holding a
 * `package.json` whose name is `legate`, instead of counting `..` segments that
 * break whenever the output layout changes.
 */
import fs from 'node:fs';
import path from 'node:path';

let cachedRoot: string | undefined;

/**
 * Absolute path of the repository root: the nearest ancestor of this file with a
 * `package.json` named `legate` (falling back to the nearest `package.json` at all).
 * Throws when none is found. The result is cached.
 */
export function repoRoot(): string {
  if (cachedRoot !== undefined) return cachedRoot;
  let dir = __dirname;
  let firstPackageDir: string | undefined;
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg)) {
      firstPackageDir ??= dir;
      try {
        if ((JSON.parse(fs.readFileSync(pkg, 'utf8')) as { name?: unknown }).name === 'legate') {
          cachedRoot = dir;
          return dir;
        }
      } catch {
        // An unreadable package.json is simply not the one we look for.
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  if (firstPackageDir === undefined) throw new Error(`no package.json above ${__dirname}`);
  cachedRoot = firstPackageDir;
  return firstPackageDir;
}

/** Absolute path of `protos/<name>` in the repository (`name` like `'legate_test.proto'`). */
export function protoPath(name: string): string {
  return path.join(repoRoot(), 'protos', name);
}
