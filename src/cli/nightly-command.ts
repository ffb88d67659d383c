// The CLI faces of `kgate nightly` and `kgate merge`.
import path from 'node:path';
import { readNightlyConfig } from '../nightly/config.js';
import { nightDirOf, planHash, runNightly, shardCells } from '../nightly/driver.js';
import { mergeShards } from '../nightly/merge.js';
import { formatNightlyText } from '../nightly/report.js';
import { shardFrom, shardText } from '../util/shard.js';
import { defaultAccel, parseOpts, qemuTargetOf } from './inputs.js';
import { COMMANDS, schemaOf } from './options.js';
import { jobLog, runProgress } from './run-progress.js';
import { interruptible, suiteEnv } from './run-command.js';

const NightlyOpts = schemaOf(COMMANDS.nightly);

export async function nightlyFromCli(raw: unknown, argv: string[]): Promise<number> {
  const o = parseOpts(NightlyOpts, raw);
  const shard = shardFrom(o.shard);
  // Every mistake of the file is found here, before anything is fetched or built.
  const config = await readNightlyConfig(o.config);
  const root = config.resultsRoot ?? path.join(o.results, 'nightly');
  const date = o.date ?? new Date().toISOString().slice(0, 10);
  const cells = shardCells(config.cells, shard);
  if (o.plan) {
    process.stdout.write(`nightly ${date} from ${config.file} (plan ${planHash(config)}${shard ? `, shard ${shardText(shard)}` : ''})\n`);
    process.stdout.write(`results: ${nightDirOf(root, date, shard)}\n`);
    const w = Math.max(...cells.map((c) => c.name.length));
    for (const c of cells) process.stdout.write(`  ${c.name.padEnd(w)}  ${c.selection.ids.length} cases (${c.selection.describe}); ${c.action}\n`);
    if (cells.length === 0) process.stdout.write('  (no cell in this shard)\n');
    return 0;
  }
  const target = qemuTargetOf({ accel: o.accel ?? config.accel ?? defaultAccel(), mem: config.mem, bootTimeout: config.bootTimeout });
  const env = suiteEnv();
  const progress = runProgress('nightly');
  try {
    const r = await interruptible((signal) => runNightly({
      config, date, root, skipUnchanged: o.skipUnchanged ?? false, resume: o.resume ?? false, ...(shard ? { shard } : {}),
      target, buildDir: o.buildDir, argv, env, signal, emit: progress.emit, log: jobLog('nightly'),
      // --reporter, else $KGATE_REPORTER; the file's reporter: wins, as its defaults.accel does over --accel (self-bisect.ts).
      ...(o.reporter ? { reporter: o.reporter } : {}),
    }));
    await progress.done();
    process.stdout.write(formatNightlyText(r.report));
    process.stdout.write(`results: ${r.dir}\n`);
    return r.report.exitCode;
  } finally {
    await progress.done();
  }
}

export function mergeFromCli(dirs: string[], o: { out?: string }): number {
  const out = path.resolve(o.out ?? `${dirs[0].replace(/\/+$/, '').replace(/\.shard-\d+-of-\d+$/, '')}.merged`);
  const r = mergeShards(dirs.map((d) => path.resolve(d)), out);
  if (r.report) process.stdout.write(formatNightlyText(r.report));
  else if (r.run) process.stdout.write(`${r.run.summary.total} cases: ${Object.entries(r.run.summary.counts).map(([s, n]) => `${n} ${s}`).join(', ')}\n`);
  process.stdout.write(`results: ${r.dir}\n`);
  return r.exitCode;
}
