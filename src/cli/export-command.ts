// `kgate export kselftest`: the export stage, and what to do next in one screen.
import { exportKselftest, KSFT_TARGET } from '../export/index.js';
import { selectionOf } from './inputs.js';

export async function exportFromCli(o: { case: string[]; family: string[]; api: string[]; out?: string; tree?: string }): Promise<number> {
  // selectionOf validates the names (exit 2 with the known ones); the export applies its own default
  const { filter } = selectionOf(o);
  const r = exportKselftest({ filter, out: o.out, tree: o.tree });
  const cases = r.programs.reduce((n, p) => n + p.cases.length, 0);
  process.stdout.write(`${r.dir}\n`);
  process.stdout.write(`  ${cases} cases (${r.selection}) in ${r.programs.length} programs: ${r.programs.map((p) => p.name).join(' ')}\n`);
  process.stdout.write(`  settings timeout=${r.timeoutSec}; written in ${(r.durationMs / 1000).toFixed(2)} s\n`);
  const where = o.tree ? o.tree : `LINUX (after copying ${r.dir} to LINUX/tools/testing/selftests/${KSFT_TARGET})`;
  process.stdout.write(`  build: make -C ${where} headers && make -C ${o.tree ?? 'LINUX'}/tools/testing/selftests TARGETS=${KSFT_TARGET}\n`);
  return 0;
}
