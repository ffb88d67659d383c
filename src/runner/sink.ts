// Where results go while a run is under way: results.json is rewritten
// atomically as each case finishes, the KTAP log is appended line by line, so a
// run killed at any point leaves everything it had. A write the machine refuses
// (a full disk) never throws into the suite's streams: the results stay in
// memory, the first fault is handed to the run (which stops and says it), and
// later writes are still tried, so what fits once space is freed is kept.
import { mkdirp } from '../util/fs.js';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CaseResult, RunResult } from '../model.js';
import { summarise } from '../model.js';
import { writeResultsJson } from '../report/index.js';
import type { ResultSink } from './execute.js';
import { machineFault, writing, type MachineFault } from '../util/machine-fault.js';

export class RunSink implements ResultSink {
  private shards = new Map<string, string>();
  /** The first write the machine refused. */
  fault?: MachineFault;
  /** Where each case stands in results.json (orderAs), whichever lane or guest ran it first. */
  private order = new Map<string, number>();
  /** The first write is not guarded: a results directory that cannot hold results.json is the caller's to refuse. */
  constructor(readonly dir: string, readonly run: RunResult, private onFault: (f: MachineFault) => void = () => {}) {
    mkdirp(dir);
    writeResultsJson(this.dir, this.run);
  }
  /** The cases in the order the suite runs them one after another (its binaries', as a LAVA job's log has them): results.json keeps it. */
  orderAs(ids: readonly string[]): void {
    this.order = new Map(ids.map((id, i) => [id, i]));
  }
  /** Runs a write; a fault of the machine is recorded (the first one reported), any other error thrown. */
  save(what: () => void): void {
    try {
      what();
    } catch (e) {
      const f = machineFault(e);
      if (!f) throw e;
      if (this.fault) return;
      this.fault = f;
      this.onFault(f);
    }
  }
  add(result: CaseResult): void {
    const at = this.order.get(result.id);
    const before = at === undefined ? -1 : this.run.cases.findIndex((c) => (this.order.get(c.id) ?? Infinity) > at);
    if (before < 0) this.run.cases.push(result);
    else this.run.cases.splice(before, 0, result);
    // what the kernel speaks is the suite's to say (its header): the run's kernel learns it from the first case
    if (result.kernel?.speaks && this.run.kernel && !this.run.kernel.speaks) this.run.kernel = { ...this.run.kernel, speaks: result.kernel.speaks };
    this.flush();
  }
  /** One KTAP log per shard, a guest of --jobs or a lane of one (ktap.log, ktap-2.log, ...), written as it comes, so each stays parseable by `kgate parse`. */
  ktap(shard: string, line: string): void {
    let path = this.shards.get(shard);
    if (!path) {
      path = join(this.dir, this.shards.size === 0 ? 'ktap.log' : `ktap-${this.shards.size + 1}.log`);
      this.shards.set(shard, path);
    }
    const file = path;
    this.save(() => writing(file, () => appendFileSync(file, line + '\n')));
  }
  /**
   * A run stopped before its suite printed anything (interrupted while the
   * suite built or the guest booted, a guest that never came up) still leaves
   * a ktap.log that `kgate parse` reads: a comment saying kgate wrote it, the
   * plan of the cases asked for, and Bail out! with why. Written only when
   * there is no raw KTAP at all; a log the suite began is never touched.
   */
  bailOutIfEmpty(reason: string, planned: number): void {
    if (this.shards.size > 0) return;
    const why = reason.replace(/\s+/g, ' ').trim();
    this.ktap('-', 'KTAP version 1');
    this.ktap('-', `# kgate: the run stopped before the suite printed any result: ${why}`);
    this.ktap('-', `1..${planned}`);
    this.ktap('-', `Bail out! ${why}`);
  }
  problem(message: string): void {
    this.run.problems.push(message);
    this.flush();
  }
  flush(): void {
    this.run.summary = summarise(this.run.cases);
    this.save(() => writeResultsJson(this.dir, this.run));
  }
}
