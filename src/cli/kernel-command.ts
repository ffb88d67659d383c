// `kgate kernel build`: the kernel stage alone, as `kgate run` uses it.
import path from 'node:path';
import { kernelStage } from '../kernel/index.js';
import { kernelRequestOf, parseOpts } from './inputs.js';
import { COMMANDS, schemaOf } from './options.js';
import { makeProgress } from './progress.js';
import { interruptible } from './run-command.js';

const KernelOpts = schemaOf(COMMANDS['kernel build']);

export async function kernelBuildFromCli(raw: unknown): Promise<number> {
  const o = parseOpts(KernelOpts, raw);
  const req = kernelRequestOf(o);
  const progress = makeProgress([{ key: 'kernel', title: `Kernel ${req.spec.text}` }]);
  try {
    // Only a tree build writes a log; the directory is named by time, as a run's is.
    const logDir = req.spec.kind === 'tree' ? path.join(o.results, 'kernel', new Date().toISOString().replace(/[:.]/g, '-')) : undefined;
    // The error is said once, below the progress, by main: the stage only ends.
    const k = await interruptible((signal) => kernelStage(req, { emit: progress.emit, signal, logDir, failDetail: () => undefined }));
    await progress.done();
    if (o.json) {
      process.stdout.write(JSON.stringify(k, null, 2) + '\n');
    } else {
      process.stdout.write(`${k.bzImage}\n`);
      const id = k.identity;
      const rows: [string, string | undefined][] = [
        ['release', id.release], ['version', id.kernelVersion], ['how', k.how + (k.ms !== undefined && k.how === 'built' ? ` in ${(k.ms / 1000).toFixed(1)} s` : '')],
        ['package', id.package && `${id.package}=${id.packageVersion}`], ['commit', id.commit], ['describe', id.describe], ['dirty', id.dirtyHash],
        ['config', id.configHash], ['base config', id.baseConfig], ['fragments', id.fragments?.join(', ')], ['modules', k.modulesDir], ['pinned', id.pinned],
      ];
      for (const [key, v] of rows) if (v) process.stdout.write(`  ${key.padEnd(11)} ${v}\n`);
    }
    return 0;
  } finally {
    await progress.done();
  }
}
