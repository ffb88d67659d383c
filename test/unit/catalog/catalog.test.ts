import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  APIS, CASES, FAMILIES, FIX_RE, ID_RE, RANGE_RE, casesMatching, getCase, getFamily, judge, parseApi, selectCases,
} from '../../../src/catalog/index.js';
import { KgateError } from '../../../src/model.js';

const pad = (n: number) => String(n).padStart(2, '0');
const ROWS = [
  ...Array.from({ length: 33 }, (_, i) => `U${pad(i + 1)}`),
  ...Array.from({ length: 9 }, (_, i) => `H${i + 1}`),
  'A1', 'A2', 'A3', 'A4',
  ...Array.from({ length: 7 }, (_, i) => `R${i + 1}`),
];

test('every row of the API doc §5 has at least one case', () => {
  const rows = new Set(CASES.map((c) => c.row));
  for (const r of ROWS) assert.ok(rows.has(r), `row ${r} missing`);
});

test('ids are unique, well-formed and start with their row', () => {
  const seen = new Set<string>();
  for (const c of CASES) {
    assert.match(c.id, ID_RE, c.id);
    assert.ok(!seen.has(c.id), `duplicate ${c.id}`);
    seen.add(c.id);
    assert.equal(c.id.split('.')[0], c.row);
  }
});

test('every case names a known family whose API generation it shares', () => {
  for (const c of CASES) {
    const f = getFamily(c.family);
    assert.equal(c.api, f.api, `${c.id}: api ${c.api} in family ${f.name} (${f.api})`);
    assert.ok((APIS as readonly string[]).includes(c.api));
    assert.ok(c.timeoutSec > 0 && c.timeoutSec <= 60);
    assert.ok(c.setup.length > 0 && !c.setup.includes('\n'));
    assert.match(c.expected, /^[A-Za-z0-9_]+$/);
  }
});

test('known outcomes are well-formed and differ from the expectation', () => {
  for (const c of CASES) {
    for (const k of c.known) {
      assert.match(k.range, RANGE_RE, `${c.id} range ${k.range}`);
      assert.match(k.fix, FIX_RE, `${c.id} fix ${k.fix}`);
      assert.notEqual(k.outcome, c.expected, c.id);
      assert.ok(k.what.length > 0);
    }
    assert.equal(new Set(c.known.map((k) => k.outcome)).size, c.known.length, `${c.id}: outcome listed twice`);
  }
});

test('U03.dir: EISDIR today, success on 6.12-6.16 is XFAIL naming e9c8da670e74', () => {
  const c = getCase('U03.dir');
  assert.equal(c.expected, 'EISDIR');
  assert.deepEqual(judge(c, 'EISDIR'), { status: 'PASS' });
  const x = judge(c, 'ok');
  assert.equal(x.status, 'XFAIL');
  assert.match(x.reason!, /^6\.12-6\.16: .*\(e9c8da670e74\)$/);
  assert.equal(judge(c, 'EOPNOTSUPP').status, 'XFAIL');
  assert.equal(judge(c, 'ENOTTY').status, 'FAIL');
});

test('the corrections confirmed by running are in the catalog', () => {
  assert.equal(getCase('U06.proc').expected, 'ELOOP');
  assert.equal(getCase('U06.sysfs').expected, 'ok');
  assert.equal(getCase('U30.mmap_enodev').expected, 'ENODEV');
  assert.equal(getCase('U30.control').expected, 'ok');
  assert.match(getCase('U30.mmap_enodev').setup, /DIRECT_IO_ALLOW_MMAP/);
});

test('other expectations from §5', () => {
  const want: Record<string, string> = {
    'U01.never_opened': 'EBADF', 'U10.padding': 'EINVAL', 'U13.writeback': 'EPERM', 'U14.unmounted_open': 'EPERM',
    'U16.overlay_d1': 'ELOOP', 'U17.overlay_d2': 'ok', 'U21.unknown': 'ENOENT', 'U21.zero': 'EINVAL',
    'U22.double': 'ENOENT', 'U23.id0': 'EIO', 'U28.cached_then_pt': 'EIO', 'U32.opendir': 'ok',
    'H8.dead_stat': 'ENOTCONN', 'H9.umount_busy': 'EBUSY', 'A1.eventfd': 'EBADF', 'A3.magic': 'EINVAL',
    'R5.depth': 'EEXIST', 'R6.bogus': 'ENOENT',
  };
  for (const [id, e] of Object.entries(want)) assert.equal(getCase(id).expected, e, id);
});

test('the selftest family is hidden unless asked for', () => {
  assert.ok(!selectCases().some((c) => c.family === 'selftest'));
  assert.deepEqual(selectCases({ families: ['selftest'] }).map((c) => c.id), ['K1.hang', 'K2.panic', 'K4.wedge', 'K3.pass']);
  assert.deepEqual(selectCases({ cases: ['K1.hang'] }).map((c) => c.id), ['K1.hang']);
  assert.ok(selectCases({ includeHidden: true }).some((c) => c.id === 'K3.pass'));
  assert.equal(getCase('K1.hang').timeoutSec, 3);
  assert.equal(getCase('K1.hang').needsPassthrough, false);
});

test('filters: by row, id, family, api; they intersect', () => {
  assert.deepEqual(casesMatching('U03').map((c) => c.id), ['U03.dir']);
  assert.ok(casesMatching('U07').length === 2);
  assert.deepEqual(selectCases({ cases: ['U03'], families: ['ioctl-open'], apis: ['upstream'] }).map((c) => c.id), ['U03.dir']);
  assert.ok(selectCases({ apis: ['r8'] }).every((c) => c.api === 'r8' && c.family === 'older-r8'));
  assert.ok(selectCases({ families: ['init'] }).every((c) => c.family === 'init'));
  const all = selectCases();
  assert.deepEqual(all.map((c) => c.id), CASES.filter((c) => c.family !== 'selftest').map((c) => c.id), 'catalog order kept');
  assert.throws(() => selectCases({ cases: ['U03'], apis: ['r8'] }), /no case matches --case U03 --api r8/);
});

test('unknown names fail as user errors listing the known ones', () => {
  const check = (fn: () => unknown, re: RegExp) => assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof KgateError);
    assert.equal(e.family, 'user');
    assert.match(e.message, re);
    return true;
  });
  check(() => getCase('x'), /^unknown case 'x'; known: U01\.never_opened, /);
  check(() => selectCases({ cases: ['U99'] }), /^unknown case 'U99'; known: U01, U02, /);
  check(() => selectCases({ cases: ['U03.nope'] }), /^unknown case 'U03\.nope'; known: U03\.dir$/);
  check(() => getFamily('nope'), /^unknown family 'nope'; known: ioctl-open, ioctl-close, /);
  check(() => parseApi('v9'), /^unknown api 'v9'; known: upstream, a1, a2, r8$/);
  check(() => selectCases({ apis: ['v9'] }), /unknown api 'v9'/);
});

test('families: unique, each with cases', () => {
  assert.equal(new Set(FAMILIES.map((f) => f.name)).size, FAMILIES.length);
  for (const f of FAMILIES) assert.ok(CASES.some((c) => c.family === f.name), f.name);
});
