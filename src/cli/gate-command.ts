// The CLI face of `kgate gate`: inputs, progress, the report on stdout, the verdict.
import { makeSelection } from '../catalog/selection.js';
import { runGate } from '../gate/driver.js';
import { formatGateJUnit, formatGateText } from '../gate/report.js';
import { parseOpts, qemuTargetOf } from './inputs.js';
import { COMMANDS, schemaOf } from './options.js';
import { jobLog, runProgress } from './run-progress.js';
import { interruptible } from './run-command.js';

const GateOpts = schemaOf(COMMANDS.gate);

export async function gateFromCli(raw: unknown, argv: string[]): Promise<number> {
  const o = parseOpts(GateOpts, raw);
  const selection = makeSelection({ cases: o.case, families: o.family, apis: o.api });
  const progress = runProgress('gate');
  try {
    const r = await interruptible((signal) => runGate({
      tree: o.tree, base: o.base, series: o.series, selection, repeat: o.repeat, perPatch: o.perPatch ?? false,
      baseConfig: o.baseConfig, fragments: o.configFragment, target: qemuTargetOf(o), buildDir: o.buildDir, resultsRoot: o.results,
      argv, signal, emit: progress.emit, log: jobLog('gate'), ...(o.reporter ? { reporter: o.reporter } : {}),
    }));
    await progress.done();
    process.stdout.write(o.format === 'junit' ? formatGateJUnit(r) : formatGateText(r));
    if (o.format === 'text') process.stdout.write(`results: ${r.dir}\n`);
    return r.exitCode;
  } finally {
    await progress.done();
  }
}
