// Fixtures live in the source tree (test/fixtures), not in dist/.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../../src/util/paths.js';

export const FIXTURES = join(projectRoot(), 'test', 'fixtures', 'ktap');
export function fixture(name: string): string {
  return readFileSync(join(FIXTURES, name), 'utf8');
}
