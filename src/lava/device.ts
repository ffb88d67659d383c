// A qemu device configuration for lava-run on this host (the dispatcher alone,
// no server): LAVA's own device-type template (Debian's lava-server ships
// them) rendered by jinja2 from a device dictionary. A lab has its own; kgate
// needs one only to run a job here (tests, bench).
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { KgateError } from '../model.js';
import { SYSTEM_PYTHON } from './validate.js';

export const DEVICE_TYPE_DIRS = Object.freeze(['/etc/lava-server/dispatcher-config/device-types', '/usr/share/lava-server/device-types']);

/**
 * The device dictionary: no_kvm, or the template adds -enable-kvm -cpu host
 * and QEMU aborts where KVM does not work (this machine).
 */
export function deviceDict(o: { memMB?: number; noKvm?: boolean; mac?: string } = {}): string {
  return [
    "{% extends 'qemu.jinja2' %}",
    "{% set arch = 'amd64' %}",
    `{% set mac_addr = '${o.mac ?? '52:54:00:12:34:59'}' %}`,
    `{% set memory = ${o.memMB ?? 1024} %}`,
    ...(o.noKvm ?? true ? ['{% set no_kvm = True %}'] : []),
    '',
  ].join('\n');
}

export async function renderDevice(dict: string, dirs: readonly string[] = DEVICE_TYPE_DIRS): Promise<string> {
  const found = dirs.filter((d) => existsSync(`${d}/qemu.jinja2`));
  if (found.length === 0) throw new KgateError('infra', `no LAVA device-type templates (qemu.jinja2) in ${dirs.join(' or ')} (install lava-server: scripts/setup.sh)`);
  const script = 'import sys, jinja2\n'
    + 'env = jinja2.Environment(loader=jinja2.FileSystemLoader(sys.argv[1:]), trim_blocks=True, autoescape=False)\n'
    + 'sys.stdout.write(env.from_string(sys.stdin.read()).render())\n';
  const r = await execa(SYSTEM_PYTHON, ['-c', script, ...found], { input: dict, reject: false });
  if (r.exitCode !== 0) throw new KgateError('infra', `rendering the LAVA device failed: ${String(r.stderr).trim().split('\n').at(-1)}`);
  return String(r.stdout);
}
