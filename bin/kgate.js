#!/usr/bin/env node
// Loaded, not imported statically, so that kgate's modules failing to load (no
// npm install or build, EMFILE under a tiny `ulimit -n`) is one line and exit
// 125, not Node's stack and exit 1, which `git bisect run` reads as "bad".
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';

/**
 * Out of file descriptors while loading: Node's loader says EMFILE, or, when
 * it could not read a package's package.json, that the package's index.js
 * cannot be found. A "missing" file whose package is there is the latter.
 */
function outOfFds(e) {
  if (e && e.code === 'EMFILE') return true;
  const named = /Cannot find (?:package|module) '([^']+)'/.exec(String((e && e.message) || ''));
  return Boolean(named && isAbsolute(named[1]) && (existsSync(named[1]) || existsSync(join(dirname(named[1]), 'package.json'))));
}

import('../dist/src/cli/main.js').catch((e) => {
  const why = outOfFds(e) ? 'too many open files (ulimit -n)'
    : `${String((e && e.message) || e).split('\n')[0]} (run scripts/setup.sh, or npm run build)`;
  process.stderr.write(`kgate: cannot load kgate: ${why}\n`);
  process.exitCode = 125;
});
