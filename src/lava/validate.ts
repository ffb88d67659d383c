// The job is checked by LAVA's own schema (lava_common.schemas.validate, from
// Debian's lava-common, which lava-dispatcher and lava-server pull in), run by
// Debian's python: a python3 earlier on PATH (pyenv) has no lava_common.
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { KgateError } from '../model.js';

export const SYSTEM_PYTHON = '/usr/bin/python3';

const SCRIPT = `
import sys, yaml
try:
    from lava_common.schemas import validate
except ImportError as e:
    print("NOLAVA " + str(e)); sys.exit(3)
try:
    validate(yaml.safe_load(sys.stdin.read()), strict=False)
except Exception as e:
    print("INVALID " + " ".join(str(e).split())); sys.exit(1)
print("OK")
`;

export type Validation = { ok: true } | { ok: false; reason: string } | { ok: 'unavailable'; reason: string };

/** Why LAVA's validator cannot run here, or undefined when it can. */
export async function validatorMissing(): Promise<string | undefined> {
  if (!existsSync(SYSTEM_PYTHON)) return `${SYSTEM_PYTHON} not found`;
  const r = await execa(SYSTEM_PYTHON, ['-c', 'import lava_common.schemas'], { reject: false });
  return r.exitCode === 0 ? undefined : 'lava_common is not installed (apt-get install lava-dispatcher, or run scripts/setup.sh)';
}

export async function validateJob(yamlText: string): Promise<Validation> {
  if (!existsSync(SYSTEM_PYTHON)) return { ok: 'unavailable', reason: `${SYSTEM_PYTHON} not found` };
  const r = await execa(SYSTEM_PYTHON, ['-c', SCRIPT], { input: yamlText, reject: false });
  const out = String(r.stdout).trim();
  if (r.exitCode === 0 && out === 'OK') return { ok: true };
  if (out.startsWith('NOLAVA')) return { ok: 'unavailable', reason: `lava_common is not installed (${out.slice(7)}; run scripts/setup.sh)` };
  if (out.startsWith('INVALID')) return { ok: false, reason: out.slice(8) };
  return { ok: false, reason: `validator failed: ${String(r.stderr).trim().split('\n').at(-1) ?? r.exitCode}` };
}

/** Invalid is kgate's own bug (it wrote the job); an absent validator is the host's (infra). */
export async function assertValidJob(yamlText: string): Promise<void> {
  const v = await validateJob(yamlText);
  if (v.ok === true) return;
  if (v.ok === 'unavailable') throw new KgateError('infra', `cannot validate the LAVA job: ${v.reason}`);
  throw new KgateError('bug', `LAVA's schema rejects the job kgate wrote: ${v.reason}`);
}
