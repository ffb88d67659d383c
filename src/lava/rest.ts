// LAVA's REST API v0.2, the calls kgate needs: submit, a job's state, its
// results (the YAML export: suite names included, no pagination) and its log.
// The token comes from a file only; it goes into the Authorization header and
// nowhere else (no message, no log line, no metadata.json carries it).
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { KgateError } from '../model.js';
import type { LavaResultEntry } from './log.js';

export interface LavaServer { url: string; tokenFile: string }

export interface LavaJobState {
  id: number;
  state: string;   // Submitted, Scheduling, Scheduled, Running, Canceling, Finished
  health: string;  // Unknown, Complete, Incomplete, Canceled
  failureComment?: string;
}

/** The token file's first line; an unreadable or empty file is the user's mistake. */
export function readToken(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new KgateError('user', `cannot read the token file ${file}: ${(e as NodeJS.ErrnoException).code ?? e}`);
  }
  const token = text.split('\n')[0].trim();
  if (!token) throw new KgateError('user', `the token file ${file} is empty`);
  return token;
}

export class LavaClient {
  readonly base: string;
  #token: string;
  constructor(server: LavaServer, private signal?: AbortSignal) {
    this.base = server.url.replace(/\/+$/, '');
    this.#token = readToken(server.tokenFile);
  }

  private async request(method: 'GET' | 'POST', path: string, body?: unknown): Promise<Response> {
    const url = `${this.base}/api/v0.2/${path}`;
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: { Authorization: `Token ${this.#token}`, Accept: 'application/json, application/yaml, */*', ...(body ? { 'Content-Type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
        signal: this.signal ? AbortSignal.any([this.signal, AbortSignal.timeout(60_000)]) : AbortSignal.timeout(60_000),
      });
    } catch (e) {
      if (this.signal?.aborted) throw new KgateError('interrupt', 'interrupted');
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      throw new KgateError('infra', `LAVA server ${this.base} unreachable: ${cause?.code ?? cause?.message ?? (e as Error).message}`);
    }
    if (res.status === 401 || res.status === 403) {
      throw new KgateError('user', `LAVA server ${this.base} refused the token from the token file (HTTP ${res.status}: ${await detail(res)})`);
    }
    if (res.status === 404) throw new KgateError('user', `LAVA server ${this.base}: ${method} ${path} not found (HTTP 404)`);
    if (res.status >= 400 && res.status < 500) throw new KgateError('bug', `LAVA server ${this.base} rejected ${method} ${path} (HTTP ${res.status}: ${await detail(res)})`);
    if (!res.ok) throw new KgateError('infra', `LAVA server ${this.base}: ${method} ${path} failed (HTTP ${res.status}: ${await detail(res)})`);
    return res;
  }

  async version(): Promise<string> {
    const v = (await (await this.request('GET', 'system/version/')).json()) as { version?: string };
    return String(v.version ?? '?');
  }

  async submit(definition: string): Promise<number> {
    const r = (await (await this.request('POST', 'jobs/', { definition })).json()) as { job_ids?: number[]; message?: string };
    const id = r.job_ids?.[0];
    if (typeof id !== 'number') throw new KgateError('infra', `LAVA server ${this.base} answered the submission without a job id: ${r.message ?? JSON.stringify(r)}`);
    return id;
  }

  async job(id: number): Promise<LavaJobState> {
    const j = (await (await this.request('GET', `jobs/${id}/`)).json()) as Record<string, unknown>;
    return { id, state: String(j.state ?? ''), health: String(j.health ?? ''), ...(typeof j.failure_comment === 'string' && j.failure_comment ? { failureComment: j.failure_comment } : {}) };
  }

  /** The job's test cases (the /yaml/ export), as the log's result entries. */
  async results(id: number): Promise<LavaResultEntry[]> {
    const text = await (await this.request('GET', `jobs/${id}/yaml/`)).text();
    const rows = (parseYaml(text) ?? []) as Record<string, unknown>[];
    return rows.map((r) => {
      const meta = (r.metadata && typeof r.metadata === 'object' ? r.metadata : {}) as Record<string, unknown>;
      const extra = (meta.extra && typeof meta.extra === 'object' && !Array.isArray(meta.extra) ? meta.extra : meta) as Record<string, unknown>;
      const out: LavaResultEntry = { suite: String(r.suite ?? '').replace(/^\d+_/, ''), case: String(r.name ?? ''), result: String(r.result ?? '') };
      if (r.measurement !== undefined && r.measurement !== 'None') out.measurement = String(r.measurement);
      if (typeof r.unit === 'string' && r.unit !== 'None' && r.unit !== '') out.units = r.unit;
      if (typeof extra.test_case_id === 'string') out.testCaseId = extra.test_case_id;
      out.extra = meta;
      return out;
    });
  }

  async log(id: number): Promise<string> {
    return (await this.request('GET', `jobs/${id}/logs/`)).text();
  }
}

async function detail(res: Response): Promise<string> {
  const t = (await res.text().catch(() => '')).replace(/\s+/g, ' ').trim();
  try {
    const j = JSON.parse(t) as { detail?: string; message?: string };
    return j.detail ?? j.message ?? t.slice(0, 200);
  } catch {
    return t.slice(0, 200) || res.statusText;
  }
}

/** Poll delays: 2 s, growing by half each time, capped at 30 s. */
export function backoff(attempt: number, firstMs = 2000, capMs = 30_000): number {
  return Math.min(capMs, Math.round(firstMs * 1.5 ** attempt));
}

export const FINISHED_STATES = new Set(['Finished']);

/** Poll the job until it is Finished, or the deadline passes (an infra fault, with the state it was left in). */
export async function waitForJob(client: LavaClient, id: number, o: { timeoutMs: number; signal?: AbortSignal; onState?: (s: LavaJobState) => void; firstMs?: number }): Promise<LavaJobState> {
  const t0 = Date.now();
  let last: LavaJobState | undefined;
  for (let attempt = 0; ; attempt++) {
    const s = await client.job(id);
    if (!last || s.state !== last.state) o.onState?.(s);
    last = s;
    if (FINISHED_STATES.has(s.state)) return s;
    const left = o.timeoutMs - (Date.now() - t0);
    if (left <= 0) throw new KgateError('infra', `LAVA job ${id} still ${s.state} after ${Math.round(o.timeoutMs / 1000)} s of polling (left running; kgate lava fetch ${id} later)`);
    await sleep(Math.min(left, backoff(attempt, o.firstMs)), o.signal);
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => { clearTimeout(t); reject(new KgateError('interrupt', 'interrupted')); };
    const t = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(); }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * How a job ended, as the server tells it: its log (so far, for a job not
 * seen to end: it shows how far the job got), and either its health, LAVA's
 * own error and its test cases, or the fault that stopped the polling.
 */
export interface JobEnd {
  logText: string;
  health?: string;
  jobError?: { type?: string; message: string };
  /** The server's test cases (REST); the log's results entries otherwise. */
  lavaResults?: LavaResultEntry[];
  /** Problems met while fetching (a log or results that could not be had). */
  problems?: string[];
  /** The submission or polling failed (unreachable, refused token, poll timeout): the run's abort, with its family's exit code. */
  fault?: KgateError;
}

/** The job polled until it finishes, then its log and test cases fetched; the time of each into `timings` (pollMs, fetchMs). */
export async function fetchJobEnd(client: LavaClient, jobId: number, o: { timeoutMs: number; firstMs?: number; signal?: AbortSignal; log?: (l: string) => void; timings: Record<string, number> }): Promise<JobEnd> {
  const t0 = Date.now();
  let state: LavaJobState | undefined;
  let fault: KgateError | undefined;
  try {
    state = await waitForJob(client, jobId, { timeoutMs: o.timeoutMs, signal: o.signal, firstMs: o.firstMs, onState: (s) => o.log?.(`LAVA job ${jobId}: ${s.state}${s.health && s.health !== 'Unknown' ? ` (${s.health})` : ''}`) });
  } catch (e) {
    if (!(e instanceof KgateError)) throw e;
    fault = e;
  }
  o.timings.pollMs = Date.now() - t0;
  const t1 = Date.now();
  const problems: string[] = [];
  const logText = await client.log(jobId).catch((e) => { if (state) problems.push(`the job's log could not be fetched: ${(e as Error).message}`); return ''; });
  const results = state && await client.results(jobId).catch((e) => { problems.push(`the job's results could not be fetched: ${(e as Error).message}`); return undefined; });
  if (state) o.timings.fetchMs = Date.now() - t1;
  // The job's end as the server saw it; a poll that failed leaves its fault instead.
  return { logText, problems, ...(state ? { health: state.health, jobError: jobErrorOf(state, results), lavaResults: results } : { fault }) };
}

/** Why a job that did not complete failed: the server's own error case, else its failure comment. */
function jobErrorOf(state: LavaJobState, results: LavaResultEntry[] | undefined): JobEnd['jobError'] {
  if (state.health === 'Complete') return undefined;
  const jobCase = results?.find((r) => r.suite === 'lava' && r.case === 'job');
  const type = jobCase?.extra?.error_type;
  const msg = jobCase?.extra?.error_msg ?? state.failureComment;
  return { ...(typeof type === 'string' ? { type } : {}), message: String(msg ?? `the job ended ${state.health}`) };
}
