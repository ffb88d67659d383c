import { readdirSync, readFileSync } from 'node:fs';

/** Pids of running processes whose argv[0] matches (read from /proc, to check none is left behind). */
export function pidsWhere(argv0: (name: string) => boolean): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (argv0(readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0')[0])) out.push(Number(d));
    } catch { /* gone */ }
  }
  return out;
}

export function qemuPids(): Set<number> {
  return new Set(pidsWhere((a) => /(^|\/)qemu-system-/.test(a)));
}

/**
 * New qemu processes (not in `before`) that no kgate owns: after a kgate has
 * exited, a guest it left behind is reparented away from it. A guest of
 * another kgate still running on the machine (a concurrent test) is not one.
 */
export function orphanQemus(before: Set<number>): number[] {
  const parentOf = (pid: number) => {
    try { return Number(/^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0); } catch { return 0; }
  };
  const cmdline = (pid: number) => { try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8'); } catch { return ''; } };
  return [...qemuPids()].filter((p) => !before.has(p) && !/kgate\.js/.test(cmdline(parentOf(p))));
}

/** The qemu processes kgate (pid) started itself, by their parent. */
export function qemuChildrenOf(pid: number | undefined): number[] {
  return [...qemuPids()].filter((p) => {
    try { return readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]?.split(' ')[1] === String(pid); } catch { return false; }
  });
}

/**
 * The qemu processes a kgate (by its pid) starts, sampled every 50 ms: the
 * machine may run other guests at the same time (other tests, other users), so
 * "no qemu left" is about these pids, not every qemu on the host.
 */
export function watchQemuOf(pid: number | undefined): { pids: Set<number>; sample: () => void; stop: () => void } {
  const pids = new Set<number>();
  const sample = () => { for (const p of qemuChildrenOf(pid)) pids.add(p); };
  sample();
  const t = setInterval(sample, 50);
  t.unref(); // a test that failed before stop() must not keep the file's process alive
  return { pids, sample, stop: () => { sample(); clearInterval(t); } };
}

/** Which of these pids still run a qemu. */
export function stillQemu(pids: Iterable<number>): number[] {
  const now = qemuPids();
  return [...pids].filter((p) => now.has(p));
}

/**
 * A process told apart from any later one given the same pid: its start time
 * (field 22 of /proc/PID/stat, clock ticks after boot) is part of its name.
 */
export interface ProcId { pid: number; start: string; comm: string; cmdline: string }

interface Stat { comm: string; state: string; ppid: number; start: string }

/** /proc/PID/stat, read past the comm (in parentheses, and it may hold spaces or ')'). */
function statOf(pid: number): Stat | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = s.lastIndexOf(')');
    const f = s.slice(close + 2).split(' '); // f[0] is field 3 (state), so field N is f[N - 3]
    return { comm: s.slice(s.indexOf('(') + 1, close), state: f[0], ppid: Number(f[1]), start: f[19] };
  } catch { return undefined; }
}

function cmdlineOf(pid: number): string {
  try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim(); } catch { return ''; }
}

/**
 * Every process below `root` now, by one pass over /proc and its parent links
 * (a session or group of its own does not hide one). Zombies are left out:
 * they have ended, and their cmdline reads empty.
 */
export function descendantsOf(root: number): ProcId[] {
  const stats = new Map<number, Stat>();
  const kids = new Map<number, number[]>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const st = statOf(Number(d));
    if (!st) continue;
    stats.set(Number(d), st);
    kids.set(st.ppid, [...(kids.get(st.ppid) ?? []), Number(d)]);
  }
  const out: ProcId[] = [];
  const walk = (p: number) => {
    for (const c of kids.get(p) ?? []) {
      const st = stats.get(c)!;
      if (st.state !== 'Z' && st.state !== 'X') out.push({ pid: c, start: st.start, comm: st.comm, cmdline: cmdlineOf(c) });
      walk(c);
    }
  };
  walk(root);
  return out;
}

/** Is this very process (pid and start time) still running? A zombie has ended: only its exit status is left to reap. */
export function isAlive(p: ProcId): boolean {
  const st = statOf(p.pid);
  return st !== undefined && st.start === p.start && st.state !== 'Z' && st.state !== 'X';
}

export interface ProcWatch {
  /** Every descendant seen, by "pid/start". */
  seen: Map<string, ProcId>;
  sample(): void;
  stop(): void;
  /** The seen processes still running. */
  alive(): ProcId[];
  /** After the root has ended: polls up to `ms` for the seen processes to end; returns those still running then. */
  leftAfter(ms?: number): Promise<ProcId[]>;
  /** SIGKILL each seen process still running, by its pid (never by name), so a failed test leaks no guest. */
  killLeft(): void;
}

const watches = new Set<ProcWatch>();
// Whatever way the test process ends, what its runs left is killed.
process.once('exit', () => { for (const w of watches) w.killLeft(); });

/**
 * Every descendant of `root` (a kgate's pid), sampled every 50 ms while it
 * runs: once kgate is gone its orphans are reparented and its tree can no
 * longer be walked, so they must be seen while it lives.
 */
export function watchDescendants(root: number | undefined): ProcWatch {
  const seen = new Map<string, ProcId>();
  const sample = () => {
    if (root === undefined) return;
    // The latest sighting wins (setpriv has exec'd qemu since), unless the process ended as it was read.
    for (const p of descendantsOf(root)) if (p.cmdline || !seen.has(`${p.pid}/${p.start}`)) seen.set(`${p.pid}/${p.start}`, p);
  };
  sample();
  const t = setInterval(sample, 50);
  t.unref();
  const alive = () => [...seen.values()].filter(isAlive);
  const w: ProcWatch = {
    seen, sample, alive,
    stop: () => { sample(); clearInterval(t); },
    async leftAfter(ms = 2000) {
      const until = Date.now() + ms;
      while (alive().length > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      return alive();
    },
    killLeft() {
      for (const p of alive()) { try { process.kill(p.pid, 'SIGKILL'); } catch { /* ended meanwhile */ } }
    },
  };
  watches.add(w);
  return w;
}

/** "1234 qemu-system-x86: qemu-system-x86_64 -nodefaults ...": what a process is, for a failure message. */
export function describeProc(p: ProcId): string {
  const now = isAlive(p) ? { comm: statOf(p.pid)?.comm ?? p.comm, cmdline: cmdlineOf(p.pid) || p.cmdline } : p; // setpriv has exec'd qemu since
  return `${p.pid} ${now.comm}: ${now.cmdline.slice(0, 200)}`;
}
