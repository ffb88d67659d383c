// A crash report of the console read as file:line, by the kernel tree's own
// scripts/decode_stacktrace.sh with the build's vmlinux (0-day's reports
// carry one): `fuse_backing_open+0x5c/0x1a0` becomes
// `fuse_backing_open (fs/fuse/passthrough.c:238)`. Only a tree kernel kgate
// built has the tools (its cache entry keeps them); everything else keeps
// its report as the console printed it.
import type { CaseResult } from '../model.js';
import { runTool } from '../util/run-tool.js';

/** The tools of one kernel (kernel/artifact.ts StacktraceTools has this shape). */
export interface StacktraceDecoder {
  script: string;
  vmlinux: string;
  /** Stripped from each file name addr2line prints. */
  basePath: string;
}

/**
 * decode_stacktrace.sh over a report's lines (printk prefix already removed).
 * The "Code:" line is left out: decodecode would disassemble it (thirty lines
 * a report, and the architecture's objdump), which a reply to the list does
 * not need to place the crash.
 */
export async function decodeStacktrace(tools: StacktraceDecoder, excerpt: string[], signal?: AbortSignal): Promise<string[]> {
  const input = excerpt.filter((l) => !/^\s*Code: /.test(l)).join('\n') + '\n';
  const out = await runTool('bash', [tools.script, tools.vmlinux, tools.basePath], { signal, input: Buffer.from(input) });
  return out.stdout.split('\n').map((l) => l.trimEnd()).filter((l, i, all) => l !== '' || i < all.length - 1);
}

/** A decoded frame: `name (file:line)`, as decode_stacktrace.sh writes it (inlined callers after the first, space-separated). */
const FRAME = /(?:^|[\s:])([A-Za-z_][\w.]*) \(((?:[\w./-]+:\d+(?: \(discriminator \d+\))?\s*)+)\)/;

export interface SourceFrame { fn: string; location: string }

/** The frames of a decoded report that name a source line, in order. */
export function sourceFrames(decoded: string[]): SourceFrame[] {
  const out: SourceFrame[] = [];
  for (const l of decoded) {
    const m = FRAME.exec(l);
    if (m) out.push({ fn: m[1], location: m[2].trim().split(/\s+/)[0] });
  }
  return out;
}

/**
 * Every CRASH case's console report decoded in place (`trace`). A script that
 * fails is a problem of the run, said in one line, never its verdict: the
 * crash is still CRASH, with the console's own lines.
 */
export async function decodeCrashCases(cases: CaseResult[], tools: StacktraceDecoder, signal?: AbortSignal): Promise<string[]> {
  const problems: string[] = [];
  for (const c of cases) {
    if (c.status !== 'CRASH' || !c.console?.length) continue;
    try {
      const decoded = await decodeStacktrace(tools, c.console, signal);
      if (sourceFrames(decoded).length > 0) c.trace = decoded;
      else problems.push(`${c.id}: decode_stacktrace.sh found no source line in the crash report (no debug info for its frames)`);
    } catch (e) {
      if (signal?.aborted) throw e;
      problems.push(`${c.id}: the crash report was not decoded: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
    }
  }
  return problems;
}
