// `git am -3` of a series on base, in a scratch repository of kgate's own:
// `git init` with the user's object store as an alternate (read, never
// written), and a sparse work tree holding only the files the series touch,
// so checking out base costs milliseconds instead of a kernel tree's 80 000
// files. The commits git am makes have a fixed committer and the author's
// date, so the same series on the same base gives the same hashes every time
// and the kernel build cache recognises them.
import { writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { KgateError } from '../model.js';
import { borrowingRepo, git } from '../util/git.js';
import type { Series } from './series.js';

const COMMITTER = { GIT_COMMITTER_NAME: 'kgate gate', GIT_COMMITTER_EMAIL: 'kgate@localhost' };

export interface Applied { head: string; commits: string[] }

export class ScratchRepo {
  private constructor(readonly dir: string) {}

  static async create(tree: string, files: string[]): Promise<ScratchRepo> {
    const dir = await borrowingRepo(tree, 'kgate-gate-');
    const repo = new ScratchRepo(dir);
    try {
      // The kernel stage fetches the commits made here by hash.
      await git(dir, ['config', 'uploadpack.allowAnySHA1InWant', 'true']);
      await git(dir, ['config', 'core.sparseCheckout', 'true']);
      writeFileSync(path.join(dir, '.git', 'info', 'sparse-checkout'), files.map((f) => `/${f}\n`).join('') || '/MAINTAINERS\n');
      return repo;
    } catch (e) {
      await repo.dispose();
      throw e;
    }
  }

  /** Apply `series` on `base`; a patch that does not apply is the user's to fix: exit 2 naming it and git's reason. */
  async apply(base: string, series: Series, signal?: AbortSignal): Promise<Applied> {
    await git(this.dir, ['-c', 'advice.detachedHead=false', 'checkout', '--quiet', '--force', '--detach', base], { signal });
    const mbox = path.join(this.dir, '.git', `kgate-${series.label}.mbox`);
    writeFileSync(mbox, series.mbox);
    const r = await git(this.dir, ['am', '-3', '--committer-date-is-author-date', '--quiet', mbox], { signal, env: COMMITTER, allowFail: true });
    if (r.code !== 0) {
      const text = `${r.stdout}\n${r.stderr}`;
      await git(this.dir, ['am', '--abort'], { allowFail: true });
      const at = /Patch failed at (\d+) (.*)/.exec(text);
      const n = at ? Number(at[1]) : undefined;
      const patch = n !== undefined ? series.patches[n - 1] : undefined;
      const reason = text.split('\n').map((l) => l.trim()).find((l) => /^(error:|CONFLICT)/.test(l) && !/Failed to merge in the changes/.test(l))
        ?? text.split('\n').find((l) => l.trim())?.trim() ?? `git am exited ${r.code}`;
      throw new KgateError('user', `${series.label} (${series.source}) does not apply on ${base.slice(0, 12)}: patch ${n ?? '?'}/${series.patches.length}${patch ? ` "${patch.subject}"` : ''}: ${reason}`);
    }
    const head = (await git(this.dir, ['rev-parse', 'HEAD'])).stdout.trim();
    const commits = (await git(this.dir, ['rev-list', '--reverse', `${base}..${head}`])).stdout.split('\n').filter(Boolean);
    return { head, commits };
  }

  async dispose(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}
