// Time to generate and build the whole suite cold (empty build dir) and warm
// (nothing changed), in a throwaway build dir so build/ is left alone.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSuite, type BuildResult } from '../src/gen/build.js';

const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'kgate-bench-'));
  try {
    const req = { srcDir: join(dir, 'src'), binDir: join(dir, 'bin'), includeHidden: true };
    const cold: BuildResult = await buildSuite(req);
    const warm: BuildResult = await buildSuite(req);
    const slowest = [...cold.steps].sort((a, b) => b.durationMs - a.durationMs)[0];
    const cases = cold.manifest.binaries.reduce((n, b) => n + b.cases.length, 0);
    process.stdout.write(`gen+build cold: ${s(cold.durationMs)}, warm: ${s(warm.durationMs)}\n`);
    process.stdout.write(`  ${cold.steps.length} binaries, ${cases} cases; cold render ${s(cold.render.durationMs)}, compile ${s(cold.compileMs)}`
      + ` (slowest ${slowest.name} ${s(slowest.durationMs)}); warm compiled ${warm.steps.filter((x) => !x.cached).length}\n`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((e: Error) => {
  process.stderr.write(`bench: ${e.message}\n`);
  process.exit(1);
});
