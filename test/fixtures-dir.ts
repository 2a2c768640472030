import fs from 'node:fs';
import path from 'node:path';

/**
 * The shared fixtures (`../shared/fixtures` beside the project root), produced by the real
 * systems Legate must be compatible with. LEGATE_FIXTURES overrides the location.
 */
export function fixturesDir(): string {
  const fromEnv = process.env['LEGATE_FIXTURES'];
  if (fromEnv) return fromEnv;
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('repository root not found');
    dir = up;
  }
  return path.resolve(dir, '..', 'shared', 'fixtures');
}
