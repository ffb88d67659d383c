import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { execFileSync } from 'node:child_process';
import { readNightlyConfig } from '../../../src/nightly/config.js';
import { shardCells } from '../../../src/nightly/driver.js';
import { KgateError } from '../../../src/model.js';
import { parseShard, shardFrom } from '../../../src/util/shard.js';

const dir = mkdtempSync(join(tmpdir(), 'kgate-nightly-config-'));
process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
const repo = join(dir, 'linux');
mkdirSync(repo);
execFileSync('git', ['-C', repo, 'init', '-q']);
execFileSync('git', ['-C', repo, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '--allow-empty', '-m', 'one']);
writeFileSync(join(dir, 'fuse.config'), 'CONFIG_FUSE_FS=y\n');
writeFileSync(join(dir, 'bzImage'), 'not really');
writeFileSync(join(dir, 'lava.token'), 'secret\n');
let n = 0;
async function mistake(yaml: string): Promise<string> {
  const f = join(dir, `n${n++}.yaml`);
  writeFileSync(f, yaml);
  try {
    await readNightlyConfig(f);
  } catch (e) {
    assert.ok(e instanceof KgateError && e.family === 'user', String(e));
    return e.message.replace(f, 'F');
  }
  assert.fail(`accepted:\n${yaml}`);
}

test('a good file: kernels by selections, paths relative to the file, names of cells', async () => {
  const f = join(dir, 'good.yaml');
  writeFileSync(f, `kernels:
  - { name: deb612, debian: "6.12" }
  - { name: tiny, tree: linux, ref: HEAD, base-config: tiny, fragments: [fuse.config] }
  - { name: img, bzimage: bzImage }
selections:
  - { name: open, families: [ioctl-open] }
  - { name: dir, cases: [U03] }
defaults: { repeat: 2, accel: tcg }
`);
  const c = await readNightlyConfig(f);
  assert.deepEqual(c.cells.map((x) => x.name), ['deb612-open', 'deb612-dir', 'tiny-open', 'tiny-dir', 'img-open', 'img-dir']);
  assert.equal(c.cells[2].kernel.spec.text, `tree:${repo}@HEAD`);
  assert.deepEqual(c.cells[2].kernel.fragments, [join(dir, 'fuse.config')]);
  assert.equal(c.cells[2].kernel.coverage, undefined);
  const cov = join(dir, 'cov.yaml');
  writeFileSync(cov, 'kernels:\n  - { name: tiny, tree: linux, coverage: true }\n');
  assert.equal((await readNightlyConfig(cov)).cells[0].kernel.coverage, true, 'coverage: true asks the kernel stage for a gcov build');
  assert.equal(c.repeat, 2);
  assert.equal(c.accel, 'tcg');
});

// Each mistake: one line, naming the file, the line and the key.
const table: [string, string, RegExp][] = [
  ['unknown top-level key', 'kernels:\n  - { name: a, debian: "6.12" }\nnightly: yes\n', /^F:3: nightly: unknown key$/],
  ['unknown kernel key', 'kernels:\n  - name: a\n    debain: "6.12"\n', /^F:3: kernels\[0\]\.debain: unknown key/],
  ['wrong type', 'kernels:\n  - { name: a, debian: "6.12" }\ndefaults:\n  repeat: often\n', /^F:4: defaults\.repeat: /],
  ['a tree that is not a git tree', `kernels:\n  - name: t\n    tree: ${dir}\n`, /^F:3: kernels\[0\]\.tree: .* is not a git tree$/],
  ['a fragment that does not exist', 'kernels:\n  - name: t\n    tree: linux\n    fragments:\n      - fuse.config\n      - nope.config\n', /^F:6: kernels\[0\]\.fragments\[1\]: nope\.config: no such file$/],
  ['coverage on a Debian kernel', 'kernels:\n  - name: a\n    debian: "6.12"\n    coverage: true\n', /^F:4: kernels\[0\]\.coverage: coverage is for a tree: kernel$/],
  ['a duplicate cell name', 'kernels:\n  - { name: a, debian: "6.12" }\n  - { name: a, debian: "6.1" }\n', /^F:3: kernels\[1\]\.name: the kernel name a is used twice$/],
  ['no kernels', 'selections:\n  - { name: s }\n', /^F:1: \(top\): kernels is missing$/],
  ['two kinds in one kernel', 'kernels:\n  - { name: a, debian: "6.12", bzimage: bzImage }\n', /^F:2: kernels\[0\]: a kernel is exactly one of/],
  ['a bzimage that does not exist', 'kernels:\n  - { name: a, bzimage: /nope/bzImage }\n', /^F:2: kernels\[0\]\.bzimage: \/nope\/bzImage: no such file$/],
  ['a ref the tree does not have', 'kernels:\n  - name: t\n    tree: linux\n    ref: v9.9\n', /^F:4: kernels\[0\]\.ref: v9\.9 is not a commit of linux$/],
  ['an unknown case', 'kernels:\n  - { name: a, debian: "6.12" }\nselections:\n  - name: s\n    cases: [Z99]\n', /^F:4: selections\[0\]: .*Z99/],
  ['a cell naming no kernel', 'kernels:\n  - { name: a, debian: "6.12" }\ncells:\n  - { kernel: b, selection: default }\n', /^F:4: cells\[0\]\.kernel: no kernel is named b$/],
  ['a debian series that is not one', 'kernels:\n  - { name: a, debian: six }\n', /^F:2: kernels\[0\]\.debian: debian: is a series/],
  ['a name that cannot be a directory', 'kernels:\n  - { name: "a/b", debian: "6.12" }\n', /^F:2: kernels\[0\]\.name: a name is/],
  ['a tree option on a debian kernel', 'kernels:\n  - { name: a, debian: "6.12", ref: master }\n', /^F:2: kernels\[0\]\.ref: ref is for a tree: kernel$/],
  ['broken YAML', 'kernels:\n  - { name: a, debian: "6.12"\n', /^F:\d+: /],
  ['a key given twice', 'kernels:\n  - { name: a, debian: "6.12" }\nkernels: []\n', /^F:3: /],
  ['an unknown backend', 'kernels:\n  - { name: a, debian: "6.12", backend: lava-server }\n', /^F:2: kernels\[0\]\.backend: backend: is one of qemu, lava, lava-run$/],
  ['backend: lava without a server', 'kernels:\n  - name: a\n    debian: "6.12"\n    backend: lava\n', /^F:4: kernels\[0\]\.backend: backend: lava needs lava: \{ url, token-file \}/],
  ['backend: lava in defaults without a server', 'kernels:\n  - { name: a, debian: "6.12" }\ndefaults: { backend: lava }\n', /^F:2: kernels\[0\]\.name: backend: lava needs lava:/],
  ['lava: on a kernel that runs elsewhere', 'kernels:\n  - name: a\n    debian: "6.12"\n    backend: lava-run\n    lava: { url: "http://lab/", token-file: lava.token }\n', /^F:5: kernels\[0\]\.lava: lava: is for backend: lava \(this kernel's is lava-run\)$/],
  ['lava: in defaults with no kernel on LAVA', 'kernels:\n  - { name: a, debian: "6.12" }\ndefaults:\n  lava: { url: "http://lab/", token-file: lava.token }\n', /^F:4: defaults\.lava: lava: is for backend: lava$/],
  ['a LAVA url that is not one', 'kernels:\n  - name: a\n    debian: "6.12"\n    backend: lava\n    lava: { url: lab, token-file: lava.token }\n', /^F:5: kernels\[0\]\.lava\.url: url: is the LAVA server's URL/],
  ['a token file that does not exist', 'kernels:\n  - name: a\n    debian: "6.12"\n    backend: lava\n    lava: { url: "http://lab/", token-file: nope.token }\n', /^F:5: kernels\[0\]\.lava\.token-file: nope\.token: no such file$/],
  ['an unknown key under lava:', 'kernels:\n  - name: a\n    debian: "6.12"\n    backend: lava\n    lava: { url: "http://lab/", token-file: lava.token, token: abc }\n', /^F:5: kernels\[0\]\.lava\.token: unknown key$/],
];
for (const [what, yaml, want] of table) {
  test(`a nightly.yaml mistake, one line and exit 2: ${what}`, async () => {
    const msg = await mistake(yaml);
    assert.match(msg, want);
    assert.equal(msg.split('\n').length, 1, msg);
  });
}

test('backend: per kernel, else the defaults\'; lava: paths relative to the file; the plan says where each runs', async () => {
  const f = join(dir, 'backends.yaml');
  writeFileSync(f, `kernels:
  - { name: here, debian: "6.12", backend: qemu }
  - { name: disp, debian: "6.12", backend: lava-run }
  - { name: lab, debian: "6.12" }
  - name: other
    debian: "6.1"
    lava: { url: "http://other:8000/", token-file: lava.token }
defaults:
  backend: lava
  lava: { url: "http://lab:8000/", token-file: lava.token }
`);
  const c = await readNightlyConfig(f);
  assert.deepEqual(c.cells.map((x) => [x.name, x.backend]), [
    ['here', undefined],
    ['disp', { kind: 'lava-run' }],
    ['lab', { kind: 'lava', url: 'http://lab:8000/', tokenFile: join(dir, 'lava.token') }],
    ['other', { kind: 'lava', url: 'http://other:8000/', tokenFile: join(dir, 'lava.token') }],
  ]);
  assert.match(c.cells[1].action, /lava-run/);
  assert.match(c.cells[2].action, /LAVA server http:\/\/lab:8000\//);
  // The token is a path in the plan, never its text.
  assert.ok(!JSON.stringify(c).includes('secret'));
});

test('every mistake of a file is said, each on its line', async () => {
  const msg = await mistake('kernels:\n  - { name: a, debain: "6.12" }\n  - { name: b, bzimage: /nope }\nextra: 1\n');
  assert.equal(msg.split('\n').length, 3, msg);
});

test('shards: I/N parsed and checked, read from CI variables, cells or cases split exactly once', async () => {
  assert.deepEqual(parseShard('2/4'), { index: 2, total: 4 });
  for (const bad of ['0/2', '3/2', '1', 'a/b', '1/0']) assert.throws(() => parseShard(bad), KgateError);
  assert.deepEqual(shardFrom(undefined, { CI_NODE_INDEX: '2', CI_NODE_TOTAL: '3' }), { index: 2, total: 3 });
  assert.deepEqual(shardFrom(undefined, { JOB_COMPLETION_INDEX: '0', KGATE_SHARD_TOTAL: '2' }), { index: 1, total: 2 });
  assert.equal(shardFrom(undefined, {}), undefined);
  const f = join(dir, 'shards.yaml');
  writeFileSync(f, 'kernels:\n  - { name: a, debian: "6.12" }\n  - { name: b, debian: "6.1" }\n  - { name: c, debian: "6.12.118" }\nselections:\n  - { name: s, families: [ioctl-open] }\n');
  const c = await readNightlyConfig(f);
  const cellsOf = (i: number, t: number) => shardCells(c.cells, { index: i, total: t }).map((x) => x.name);
  assert.deepEqual([...cellsOf(1, 2), ...cellsOf(2, 2)].sort(), ['a', 'b', 'c']);
  // More shards than cells: every cell's cases are split instead.
  const parts = [1, 2, 3, 4].map((i) => shardCells(c.cells, { index: i, total: 4 }));
  for (const name of ['a', 'b', 'c']) {
    const ids = parts.flatMap((p) => p.find((x) => x.name === name)?.selection.ids ?? []);
    assert.deepEqual([...ids].sort(), [...c.cells.find((x) => x.name === name)!.selection.ids].sort());
  }
});

test('bisect: on a tree kernel or in defaults, off by default; reporter: at the top', async () => {
  const f = join(dir, 'bisect.yaml');
  writeFileSync(f, `reporter: "A Maintainer <m@example.org>"
defaults: { bisect: { max-builds: 3 } }
kernels:
  - { name: a, tree: linux, ref: HEAD }
  - { name: b, tree: linux, ref: HEAD, bisect: on }
  - { name: c, tree: linux, ref: HEAD, bisect: off }
  - { name: d, debian: "6.12" }
`);
  const c = await readNightlyConfig(f);
  assert.equal(c.reporter, 'A Maintainer <m@example.org>');
  assert.deepEqual(c.cells.map((x) => [x.name, x.bisect]), [['a', { maxBuilds: 3 }], ['b', {}], ['c', undefined], ['d', undefined]]);
  assert.match(c.cells[0].action, /a new failure is bisected \(at most 3 kernel builds\)/);
  const plain = join(dir, 'nobisect.yaml');
  writeFileSync(plain, 'kernels:\n  - { name: a, tree: linux }\n');
  assert.equal((await readNightlyConfig(plain)).cells[0].bisect, undefined, 'off unless asked: a bisect builds kernels');
});

test('a bad bisect: or reporter: is one line naming the key, with the other kernels\' mistakes at their own lines', async () => {
  const msg = await mistake(`kernels:
  - { name: a, tree: linux, bisect: maybe }
  - { name: b, tree: linux, bisect: { max-builds: 0 } }
  - { name: c, debian: "6.12", bisect: on }
  - { name: d, tree: linux, bisect: { max: 2 } }
reporter: someone
`);
  assert.deepEqual(msg.split('\n').map((l) => l.replace(/^\S+\.yaml:/, 'F:')), [
    'F:6: reporter: reporter: is "Name <address>"',
    'F:2: kernels[0].bisect: bisect: is off, on or { max-builds: N } (N a whole number, 1 or more)',
    'F:3: kernels[1].bisect.max-builds: bisect: is off, on or { max-builds: N } (N a whole number, 1 or more)',
    'F:5: kernels[3].bisect: bisect: is off, on or { max-builds: N } (N a whole number, 1 or more)',
    'F:4: kernels[2].bisect: bisect is for a tree: kernel',
  ]);
  assert.match(await mistake(`kernels:\n  - { name: a, tree: linux, bisect: on, coverage: true }\n`), /^F:2: kernels\[0\]\.bisect: bisect is for a plain build/);
  writeFileSync(join(dir, 't.token'), 'x\n');
  assert.match(await mistake(`kernels:\n  - { name: a, tree: linux, bisect: on, backend: lava-run }\n`), /^F:2: kernels\[0\]\.bisect: bisect is for a local qemu cell/);
});
