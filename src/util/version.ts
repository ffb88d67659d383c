// Which kgate made a run: package.json's version and, from a git checkout, its
// commit (with "-dirty" for local edits), so a results directory found later
// says which suite judged it.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from './paths.js';
import { gitFreeEnv } from './git.js';

let cached: string | undefined;

export function kgateVersion(): string {
  if (cached) return cached;
  const root = projectRoot();
  let version = 'unknown';
  try { version = String(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version); } catch { /* unreadable: say unknown */ }
  try {
    const git = (args: string[]) => execFileSync('git', ['-C', root, ...args], { encoding: 'utf8', env: gitFreeEnv({ GIT_OPTIONAL_LOCKS: '0' }), stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).trim();
    const commit = git(['rev-parse', '--short=12', 'HEAD']);
    const dirty = git(['status', '--porcelain', '--untracked-files=no', '--', 'src', 'templates']) !== '';
    cached = `${version} (${commit}${dirty ? '-dirty' : ''})`;
  } catch {
    cached = version; // not a git checkout (an npm install): the version alone
  }
  return cached;
}
