// Processes a LAVA test starts, killed by pid when the test ends: the command
// itself and every descendant it left (lava-run starts QEMU in a session of its
// own, so a process group would not reach it; the parent links in /proc do).
import { descendants } from '../../src/util/procs.js';
export { descendants };


/** Tracks what a test started; killAll() (in finally) ends each by its pid, children first seen while their parent lived. */
export class Started {
  private pids = new Set<number>();
  add(pid: number | undefined): void { if (pid) this.pids.add(pid); }
  /** Remember the descendants now (call while the parents live: an orphan's parent link is lost). */
  snapshot(): void { for (const p of [...this.pids]) for (const c of descendants(p)) this.pids.add(c); }
  async killAll(): Promise<void> {
    this.snapshot();
    for (const p of this.pids) { try { process.kill(p, 'SIGTERM'); } catch { /* already gone */ } }
    await new Promise((r) => setTimeout(r, 500));
    for (const p of this.pids) { try { process.kill(p, 'SIGKILL'); } catch { /* already gone */ } }
    this.pids.clear();
  }
  alive(): number[] { return [...this.pids].filter((p) => { try { process.kill(p, 0); return true; } catch { return false; } }); }
}
