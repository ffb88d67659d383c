// Fixtures live in the source tree (test/fixtures), not in dist/: find the
// project root from this compiled file by walking up to package.json.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('package.json not found above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
  return dir;
}

export const FIXTURES = join(projectRoot(), 'test', 'fixtures', 'ktap');
export function fixture(name: string): string {
  return readFileSync(join(FIXTURES, name), 'utf8');
}
