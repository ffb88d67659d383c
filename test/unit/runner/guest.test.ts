import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { firmwareFor } from '../../../src/runner/guest.js';
import { fastBios } from '../../../src/runner/qemu.js';

test('firmware: qboot (where the host has it) only for a kernel whose .config has ACPI; SeaBIOS for a tiny one and for a kernel of unknown config', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kgate-fw-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const bzImage = join(dir, 'vmlinuz-6.12.0-x');
  writeFileSync(bzImage, '');
  assert.equal(firmwareFor({ bzImage, release: '6.12.0-x' }), undefined, 'no config anywhere: the default firmware');
  // Debian's layout: config-<release> beside the image
  writeFileSync(join(dir, 'config-6.12.0-x'), 'CONFIG_64BIT=y\nCONFIG_ACPI=y\n');
  assert.equal(firmwareFor({ bzImage, release: '6.12.0-x' }), fastBios());
  // a tree build's own .config wins over anything beside the image
  const tiny = join(dir, 'tiny.config');
  writeFileSync(tiny, 'CONFIG_64BIT=y\n# CONFIG_ACPI is not set\n');
  assert.equal(firmwareFor({ bzImage, release: '6.12.0-x', config: tiny }), undefined, 'no ACPI: qboot has no PCI interrupt routes for it');
});
