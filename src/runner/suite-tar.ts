// The suite as one tar archive, for machines that are not booted with it
// (ssh:// targets): one upload and one unpack instead of one SFTP round trip
// per binary. tar, not the guest image's cpio: tar is on every machine kgate
// may be pointed at (Essential on Debian), cpio is not. GNU tar (the host's)
// writes it, through a staging directory of symlinks so each binary is named
// as the suite names it; -h stores the files they point at.
import { mkdirSync, statSync, symlinkSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { runTool } from '../util/run-tool.js';
import { scratchDir } from '../util/scratch.js';
import type { SuiteFile } from './image.js';
import type { Transport } from './ssh/transport.js';
import { KgateError } from '../model.js';

export interface SuiteTar { path: string; bytes: number; remove(): Promise<void> }

export async function tarOf(files: SuiteFile[], signal?: AbortSignal): Promise<SuiteTar> {
  const dir = await scratchDir('kgate-suite-');
  const remove = () => rm(dir, { recursive: true, force: true });
  try {
    const stage = path.join(dir, 'bin');
    const out = path.join(dir, 'suite.tar');
    mkdirSync(stage);
    for (const f of files) symlinkSync(f.path, path.join(stage, f.name));
    await runTool('tar', ['-h', '--owner=0', '--group=0', '--mode=0755', '-cf', out, '-C', stage, '--', ...files.map((f) => f.name)], { signal });
    return { path: out, bytes: statSync(out).size, remove };
  } catch (e) {
    await remove();
    throw e;
  }
}

/**
 * A local tar archive unpacked in `dir` on the far side: one mkdir and one
 * upload, then one unpack that removes the archive. The suite's upload to an
 * ssh:// target and `kgate exec --put` both go through here. `what` names the
 * upload in the one line a failure gives.
 */
export async function unpackRemote(t: Transport, tar: string, dir: string, what: string, o: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<void> {
  const at = `${dir}/.kgate-upload.tar`;
  const mk = await t.exec(`mkdir -p ${dir}`, o);
  if (mk.code !== 0) throw new KgateError('infra', `${what}: mkdir ${dir} failed (exit ${mk.code ?? mk.signal})`);
  await t.upload(tar, at, 0o600);
  const r = await t.exec(`cd ${dir} && tar -xf ${at} && rm -f ${at}`, o);
  if (r.code !== 0) throw new KgateError('infra', `${what}: unpacking in ${dir} failed (exit ${r.code ?? r.signal}): does the machine have tar?`);
}
