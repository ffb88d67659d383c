// What a tree kernel keeps so that an oops or WARN in it reads as file:line:
// the tree's own scripts/decode_stacktrace.sh (and decodecode beside it) and
// the symbols and DWARF of its vmlinux, copied into the cache entry.
//
// Debug info only where kgate's cases run: `-g` appended to fs/fuse/Makefile
// and for fs/backing-file.o in fs/Makefile, in kgate's own checkout (as the
// gcov build adds GCOV_PROFILE; the next checkOut's `git checkout --force`
// puts the Makefiles back). Not CONFIG_DEBUG_INFO: it compiles every object
// with -g (the whole kernel again, ccache cannot help: every command line
// changes) and makes vmlinux several times larger, for frames outside the
// code under test. The kept vmlinux is `objcopy --only-keep-debug`'s: the
// symbol table and the DWARF, no code (its zeros made holes on disk), which is all nm and addr2line read.
import { copyFileSync, appendFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { mkdirp } from '../../util/fs.js';
import { runTool } from '../../util/run-tool.js';

const DEBUG_LINES: { makefile: string; line: string }[] = [
  { makefile: 'fs/fuse/Makefile', line: 'ccflags-y += -g' },
  { makefile: 'fs/Makefile', line: 'CFLAGS_backing-file.o += -g' },
];

/** Ask kbuild for DWARF of fs/fuse and fs/backing-file.c in kgate's checkout (after checkOut, which restores the Makefiles). */
export function enableDebugInfo(srcDir: string): void {
  for (const d of DEBUG_LINES) {
    const f = path.join(srcDir, d.makefile);
    if (existsSync(f)) appendFileSync(f, `\n# kgate: file:line in a decoded oops\n${d.line}\n`);
  }
}

/**
 * Keep the decoding tools of a finished build in `into` (the cache entry being
 * made): relative paths for identity.json, or undefined when the tree has no
 * decode_stacktrace.sh (it came in 3.16).
 */
export async function keepStacktraceTools(obj: string, srcDir: string, into: string, signal?: AbortSignal): Promise<{ script: string; vmlinux: string } | undefined> {
  const script = path.join(srcDir, 'scripts', 'decode_stacktrace.sh');
  if (!existsSync(script) || !existsSync(path.join(obj, 'vmlinux'))) return undefined;
  mkdirp(path.join(into, 'scripts'));
  copyFileSync(script, path.join(into, 'scripts', 'decode_stacktrace.sh'));
  const decodecode = path.join(srcDir, 'scripts', 'decodecode');
  if (existsSync(decodecode)) copyFileSync(decodecode, path.join(into, 'scripts', 'decodecode'));
  const kept = path.join(into, 'vmlinux.debug');
  // Compressed DWARF (addr2line reads it): little for fs/fuse alone, much for a base config that has DEBUG_INFO (Debian's).
  await runTool('objcopy', ['--only-keep-debug', '--compress-debug-sections=zlib', path.join(obj, 'vmlinux'), kept], { signal, writesTo: into });
  // objcopy keeps the code's file offsets as zeros: 11.6 MB of which 1.9 MB is symbols and DWARF (6.12 tiny). Holes on disk instead.
  await runTool('fallocate', ['--dig-holes', kept], { signal }).catch(() => {});
  return { script: 'scripts/decode_stacktrace.sh', vmlinux: 'vmlinux.debug' };
}
