import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, utimesSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ARCHIVE_KEYRING, SUITES, aptConfText, listsAge, listsStamp, privateApt, sourcesListText } from '../../../src/kernel/apt.js';

test('sources: every suite that ships cloud kernels, signed by the archive keyring, never trusted=yes', () => {
  const text = sourcesListText();
  for (const s of ['bookworm', 'bookworm-backports', 'trixie', 'trixie-backports', 'sid', 'bookworm-security', 'trixie-security']) {
    assert.ok(SUITES.some((x) => x.suite === s), s);
    assert.match(text, new RegExp(`http://deb\\.debian\\.org/debian(-security)? ${s} main$`, 'm'));
  }
  assert.doesNotMatch(text, /trusted=yes/);
  for (const line of text.split('\n').filter((l) => l.startsWith('deb '))) assert.match(line, new RegExp(`signed-by=${ARCHIVE_KEYRING}`));
});

test('apt.conf: every directory apt reads or writes is inside the private tree', () => {
  const conf = aptConfText('/c/apt');
  for (const k of ['Dir::Etc', 'Dir::Etc::Parts', 'Dir::Etc::SourceList', 'Dir::Etc::SourceParts', 'Dir::Etc::TrustedParts', 'Dir::State', 'Dir::State::Lists', 'Dir::State::status', 'Dir::Cache', 'Dir::Cache::Archives', 'Dir::Etc::Preferences', 'Dir::Etc::PreferencesParts']) {
    assert.match(conf, new RegExp(`^${k} "/c/apt/[^"]*";$`, 'm'), k);
  }
  assert.match(conf, new RegExp(`^Dir::Etc::Trusted "${ARCHIVE_KEYRING}";$`, 'm'));
  assert.doesNotMatch(conf, /"\/etc\/apt|"\/var\/lib\/apt|"\/var\/cache\/apt/);
  assert.match(conf, /^APT::Get::AllowUnauthenticated "false";$/m);
});

test('privateApt makes the tree; the lists age comes from the stamp and is void when the sources changed', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kgate-apt-'));
  try {
    const apt = privateApt(dir);
    assert.equal(apt.env.APT_CONFIG, path.join(dir, 'apt.conf'));
    assert.equal(readFileSync(path.join(dir, 'etc', 'sources.list'), 'utf8'), sourcesListText());
    assert.equal(listsStamp(apt), '');
    assert.equal(listsAge(apt), undefined);
    const pk = path.join(apt.lists, 'deb.debian.org_debian_dists_sid_main_binary-amd64_Packages');
    writeFileSync(pk, 'Package: x\n');
    utimesSync(pk, 1000, 1000);
    writeFileSync(apt.stamp, JSON.stringify({ at: 1_000_000, sources: sourcesListText() }));
    assert.equal(listsAge(apt, 1_000_000 + 5000), 5000);
    assert.match(listsStamp(apt), /sid_main_binary-amd64_Packages:11:1000000/);
    writeFileSync(apt.stamp, JSON.stringify({ at: 1_000_000, sources: 'deb http://old bookworm main\n' }));
    assert.equal(listsAge(apt, 1_000_000 + 5000), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
