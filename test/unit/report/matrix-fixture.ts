// MatrixReports for the HTML and KCIDB writers' tests: a small two-cell night
// with every kind of status and change, and a nightly-sized one (105 cases x 4
// cells, two weeks of history) for the page's size.
import type { CaseResult, KernelIdentity, RunResult, Status } from '../../../src/model.js';
import { summarise } from '../../../src/model.js';
import { compareRuns } from '../../../src/report/compare.js';
import type { HistoryPoint, MatrixCell, MatrixReport } from '../../../src/report/matrix.js';

export const DEBIAN: KernelIdentity = {
  release: '6.12.118+deb12-cloud-amd64', kernelVersion: '6.12.118', package: 'linux-image-6.12.118+deb12-cloud-amd64-unsigned',
  packageVersion: '6.12.118-1~deb12u1', configHash: '7161a0db0a3826bcd5c569bfdd7b49c93fdae0a2d81c5537c5436a2da29c17e0',
  source: 'debian:6.12', pinned: 'debian:6.12.118',
};
export const TREE: KernelIdentity = {
  release: '6.12.57-kgate', kernelVersion: '6.12.57', commit: '0123456789abcdef0123456789abcdef01234567', describe: 'v6.12.57-3-g0123456789ab',
  configHash: 'aa'.repeat(32), baseConfig: 'tiny', fragments: ['fuse.config'], source: 'tree:/src/linux@revert-regular',
  pinned: 'tree:/src/linux@0123456789abcdef0123456789abcdef01234567',
};

/** The reason the escaping tests look for. */
export const NASTY_REASON = 'saw <script>alert("x")</script> & more';

const cr = (id: string, family: string, status: Status, expected: string, observed: string | undefined, extra: Partial<CaseResult> = {}): CaseResult => ({
  id, family, api: 'upstream', status, expected, ...(observed !== undefined ? { observed } : {}),
  tap: [`# ${id} observed=${observed ?? '?'} expected=${expected}`, `${status === 'PASS' || status === 'XFAIL' ? 'ok' : 'not ok'} 1 ${id}${status === 'SKIP' ? ' # SKIP' : ''}`],
  durationMs: 12, ...extra,
});

function run(runId: string, kernel: KernelIdentity, cases: CaseResult[]): RunResult {
  return {
    runId, startedAt: `${runId.slice(0, 4)}-${runId.slice(4, 6)}-${runId.slice(6, 8)}T02:00:00.000Z`,
    target: 'qemu', accel: 'kvm', kernel, cases: cases.map((c) => ({ ...c, kernel: { release: kernel.release } })), problems: [], summary: summarise(cases),
  };
}

const hist = (id: string, kernel: string, points: [string, Status, string?][]): HistoryPoint[] =>
  points.map(([date, status, observed]) => ({ date, kernel, status, ...(observed !== undefined ? { observed } : {}) }));

/**
 * Two cells on 2026-12-03: `debian` (PASS, XFAIL, SKIP, TIMEOUT, and a new failure U03.dir that observed ok where
 * EISDIR is expected) and `tree` (the same cases: CRASH new, U07.pipe FAIL observed EISDIR, a fixed one). The
 * changes vsLast: debian U03.dir new-failure, K1.hang new-failure; tree K2.panic new-crash, U05.fifo fixed.
 */
export function smallMatrix(): MatrixReport {
  const tonightD = [
    cr('U01.never_opened', 'ioctl-open', 'PASS', 'EBADF', 'EBADF'),
    cr('U03.dir', 'ioctl-open', 'FAIL', 'EISDIR', 'ok', { reason: NASTY_REASON, console: ['[  1.0] fuse: <bad> & "quoted"'] }),
    cr('U05.fifo', 'ioctl-open', 'XFAIL', 'EINVAL', 'ok', { reason: '6.12-6.16: fifo accepted before the regular-only check; fixed by e9c8da670e74' }),
    cr('A1.open', 'older-a1', 'SKIP', 'ok', undefined, { reason: 'API a1 not in this kernel' }),
    cr('K1.hang', 'selftest', 'TIMEOUT', 'ok', 'timeout', { reason: 'after 3 s' }),
    cr('K2.panic', 'selftest', 'PASS', 'ok', 'ok'),
    cr('U07.pipe', 'ioctl-open', 'PASS', 'EINVAL', 'EINVAL'),
  ];
  const lastD = tonightD.map((c) => (c.id === 'U03.dir' ? { ...c, status: 'PASS' as Status, observed: 'EISDIR', reason: undefined, console: undefined }
    : c.id === 'K1.hang' ? { ...c, status: 'PASS' as Status, observed: 'ok', reason: undefined } : c));
  const tonightT = [
    cr('U01.never_opened', 'ioctl-open', 'PASS', 'EBADF', 'EBADF'),
    cr('U03.dir', 'ioctl-open', 'PASS', 'EISDIR', 'EISDIR'),
    cr('U05.fifo', 'ioctl-open', 'PASS', 'EINVAL', 'EINVAL'),
    cr('A1.open', 'older-a1', 'SKIP', 'ok', undefined, { reason: 'API a1 not in this kernel' }),
    cr('K1.hang', 'selftest', 'TIMEOUT', 'ok', 'timeout', { reason: 'after 3 s' }),
    cr('K2.panic', 'selftest', 'CRASH', 'ok', undefined, { reason: 'Kernel panic - not syncing: kgate K2', console: ['Kernel panic - not syncing: kgate K2', 'CPU: 0 PID: 1 Comm: k2 <tainted>'] }),
    cr('U07.pipe', 'ioctl-open', 'FAIL', 'EINVAL', 'EISDIR', { reason: 'regressed to the 6.17 behaviour' }),
  ];
  const lastT = tonightT.map((c) => (c.id === 'K2.panic' ? { ...c, status: 'PASS' as Status, observed: 'ok', reason: undefined, console: undefined }
    : c.id === 'U05.fifo' ? { ...c, status: 'FAIL' as Status, observed: 'ok' } : c));
  const runD = run('20261203T020000Z', DEBIAN, tonightD);
  const runT = run('20261203T020500Z', TREE, tonightT);
  // Earlier nights ran the kernel before tonight's (Debian's previous update, the tree's previous commit).
  const history = (cases: CaseResult[], last: CaseResult[], before: string, kernel: string): Record<string, HistoryPoint[]> =>
    Object.fromEntries(cases.map((c, i) => [c.id, [
      ...hist(c.id, before, [['2026-12-01', last[i].status, last[i].observed], ['2026-12-02', last[i].status, last[i].observed]]),
      ...hist(c.id, kernel, [['2026-12-03', c.status, c.observed]])]]));
  const cells: MatrixCell[] = [
    { name: 'debian', kernel: 'debian:6.12', selection: 'all', state: 'ran', dir: 'debian/20261203T020000Z', run: runD, exitCode: 1,
      vsLast: { date: '2026-12-02', runId: '20261202T020000Z', comparison: compareRuns({ cases: lastD }, runD) },
      history: history(tonightD, lastD, '6.12.117+deb12-cloud-amd64 5e1f0a2b3c4d', `${DEBIAN.release} ${DEBIAN.configHash!.slice(0, 12)}`), ms: 61_000 },
    { name: 'tree', kernel: 'tree:/src/linux@revert-regular', selection: 'all', state: 'ran', dir: 'tree/20261203T020500Z', run: runT, exitCode: 1,
      vsLast: { date: '2026-12-02', runId: '20261202T020500Z', comparison: compareRuns({ cases: lastT }, runT) },
      history: history(tonightT, lastT, '6.12.57-kgate fedcba987654', `${TREE.release} ${TREE.commit!.slice(0, 12)}`), ms: 95_000 },
  ];
  // U01.never_opened on the tree failed once on the kernel it passes on: flaky in its history, no change tonight.
  cells[1].history['U01.never_opened'] = hist('U01.never_opened', `${TREE.release} ${TREE.commit!.slice(0, 12)}`,
    [['2026-12-01', 'PASS', 'EBADF'], ['2026-12-02', 'FAIL', 'EIO'], ['2026-12-03', 'PASS', 'EBADF']]);
  return {
    title: 'kgate nightly 2026-12-03', date: '2026-12-03', startedAt: '2026-12-03T02:00:00.000Z', finishedAt: '2026-12-03T02:10:00.000Z',
    source: 'nightly.yaml', cells, reproducer: 'kgate nightly nightly.yaml --date 2026-12-03', exitCode: 1,
  };
}

/** The changed cases of smallMatrix, as `cell:case:kind`. */
export const SMALL_CHANGES = ['debian:U03.dir:new-failure', 'debian:K1.hang:new-failure', 'tree:K2.panic:new-crash', 'tree:U05.fifo:fixed'];

/** A nightly's size: `cases` cases x 4 cells (one failed, one unchanged, one first night), `nights` of history. */
export function bigMatrix(cases = 105, nights = 14): MatrixReport {
  const statuses: Status[] = ['PASS', 'PASS', 'PASS', 'PASS', 'PASS', 'PASS', 'XFAIL', 'SKIP', 'FAIL', 'PASS', 'TIMEOUT', 'PASS', 'CRASH', 'PASS', 'ERROR'];
  const families = ['ioctl-open', 'ioctl-close', 'init', 'stacking', 'open-reply', 'iomode', 'data-path', 'lifecycle'];
  const mk = (seed: number) => Array.from({ length: cases }, (_, i) => {
    const s = statuses[(i * 7 + seed) % statuses.length];
    return cr(`U${String(i + 1).padStart(2, '0')}.case_${i}`, families[i % families.length], s, 'EINVAL', s === 'PASS' ? 'EINVAL' : 'ok',
      s === 'PASS' ? {} : { reason: `reason of ${s} for case ${i}`, ...(s === 'CRASH' ? { console: ['BUG: unable to handle page fault', 'RIP: fuse_passthrough_open+0x42'] } : {}) });
  });
  const dates = Array.from({ length: nights }, (_, i) => `2026-11-${String(20 + i).padStart(2, '0')}`);
  const cells: MatrixCell[] = [0, 1, 2, 3].map((n) => {
    const tonight = mk(n);
    const last = mk(n + 1);
    const r = run(`2026120${3}T02000${n}Z`, n % 2 ? TREE : DEBIAN, tonight);
    const history = Object.fromEntries(tonight.map((c) => [c.id, dates.map((date, i) => ({ date, kernel: `${r.kernel!.release} ${'ab'.repeat(6)}`, status: i === nights - 1 ? c.status : 'PASS' as Status, observed: 'EINVAL' }))]));
    const base = { name: `cell${n}`, kernel: n % 2 ? 'tree:/src/linux@master' : 'debian:6.12', selection: 'all', dir: `cell${n}/${r.runId}`, exitCode: 1, history };
    if (n === 3) return { ...base, state: 'failed' as const, exitCode: 125, error: 'make: *** [Makefile:1234: vmlinux] Error 2 <in fs/fuse/passthrough.c>', history: {} };
    if (n === 2) return { ...base, state: 'unchanged' as const, run: r };
    if (n === 1) return { ...base, state: 'ran' as const, run: r };
    return { ...base, state: 'ran' as const, run: r, vsLast: { date: '2026-12-02', runId: '20261202T020000Z', comparison: compareRuns({ cases: last }, r) } };
  });
  return { title: 'kgate nightly 2026-12-03', date: '2026-12-03', startedAt: '2026-12-03T02:00:00.000Z', source: 'nightly.yaml', cells, reproducer: 'kgate nightly nightly.yaml', exitCode: 1 };
}
