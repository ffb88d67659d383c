#!/usr/bin/env node
// Loaded, not imported statically, so that kgate's modules failing to load (no
// npm install or build, EMFILE under a tiny `ulimit -n`) is one line and exit
// 125, not Node's stack and exit 1, which `git bisect run` reads as "bad".
import('../dist/src/cli/main.js').catch((e) => {
  const why = e && e.code === 'EMFILE' ? 'too many open files (ulimit -n)'
    : `${String((e && e.message) || e).split('\n')[0]} (run scripts/setup.sh, or npm run build)`;
  process.stderr.write(`kgate: cannot load kgate: ${why}\n`);
  process.exitCode = 125;
});
