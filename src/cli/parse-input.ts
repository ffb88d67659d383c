// What `kgate parse` reads: a log file, stdin, or a results directory (its
// ktap.log, and ktap-N.log of the other guests of --jobs N or lanes, in order). A run
// killed before its suite printed anything has no KTAP: that is said in one
// line, with what metadata.json knows of the run, exit 125 (it was not tested).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { KgateError } from '../model.js';
import { RUN_FILES, readRunMetadata } from '../session/run-dir.js';

export function readParseInput(file: string): string {
  try {
    if (file !== '-' && statSync(file).isDirectory()) return readRunDir(file);
    return file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8');
  } catch (e) {
    if (e instanceof KgateError) throw e;
    throw new KgateError('user', `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? e}`);
  }
}

const shardNo = (f: string) => Number(/^ktap-(\d+)\.log$/.exec(f)?.[1] ?? 1);

function readRunDir(dir: string): string {
  const logs = readdirSync(dir).filter((f) => /^ktap(-\d+)?\.log$/.test(f)).sort((a, b) => shardNo(a) - shardNo(b));
  if (logs.length > 0) return logs.map((f) => readFileSync(join(dir, f), 'utf8')).join('\n');
  if (!existsSync(join(dir, RUN_FILES.metadata))) throw new KgateError('user', `${dir} is not a results directory of kgate's (no ktap.log, no metadata.json)`);
  const meta = readRunMetadata(dir);
  const what = meta.state === 'running'
    ? `its run (started ${meta.startedAt ?? 'at an unknown time'}${meta.kernelSpec ? ` on ${meta.kernelSpec}` : ''}) never finished: it was killed before the suite printed anything`
    : `its run ended (${meta.state ?? 'state unknown'}) before the suite printed anything`;
  throw new KgateError('infra', `${dir} holds no KTAP log: ${what}`);
}
