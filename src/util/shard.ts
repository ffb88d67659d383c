// --shard I/N: a deterministic share of a list, the same on every machine that
// is given the same plan, so N CI jobs cover it exactly once between them.
import { KgateError } from '../model.js';

export interface Shard { index: number; total: number } // index is 1-based, as GitLab's CI_NODE_INDEX

export function parseShard(text: string, what = '--shard'): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m ? Number(m[1]) : NaN;
  const total = m ? Number(m[2]) : NaN;
  if (!m || total < 1 || index < 1 || index > total) throw new KgateError('user', `${what} ${text}: give I/N with 1 <= I <= N (e.g. 2/4)`);
  return { index, total };
}

/**
 * The shard from the command line, else from the CI's variables: GitLab's
 * CI_NODE_INDEX/CI_NODE_TOTAL (1-based), or a Kubernetes indexed Job's
 * JOB_COMPLETION_INDEX (0-based) with the count in CI_NODE_TOTAL or KGATE_SHARD_TOTAL.
 */
export function shardFrom(option: string | undefined, env: NodeJS.ProcessEnv = process.env): Shard | undefined {
  if (option !== undefined) return parseShard(option);
  if (env.CI_NODE_INDEX && env.CI_NODE_TOTAL) return parseShard(`${env.CI_NODE_INDEX}/${env.CI_NODE_TOTAL}`, 'CI_NODE_INDEX/CI_NODE_TOTAL');
  const total = env.CI_NODE_TOTAL ?? env.KGATE_SHARD_TOTAL;
  if (env.JOB_COMPLETION_INDEX !== undefined && total) {
    return parseShard(`${Number(env.JOB_COMPLETION_INDEX) + 1}/${total}`, 'JOB_COMPLETION_INDEX');
  }
  return undefined;
}

/** Items i with i mod N = I-1: a round robin keeps shards within one item of each other. */
export function shareOf<T>(items: readonly T[], shard: Shard | undefined): T[] {
  if (!shard || shard.total === 1) return [...items];
  return items.filter((_, i) => i % shard.total === shard.index - 1);
}

export const shardText = (s: Shard) => `${s.index}/${s.total}`;
