// Deadlines that nest: a child signal that aborts when its parent does or when
// its own time is up.
//
// Not AbortSignal.any([parent, AbortSignal.timeout(ms)]): on Node 20 the
// composite holds its sources weakly, so the timeout signal can be collected
// before it fires and the deadline never comes (seen here: a guest whose SSH
// never answered kept kgate waiting forever). A plain timer, held and cleared
// by us, always fires.
export interface Deadline {
  signal: AbortSignal;
  /** Stop the timer and drop the parent listener once the guarded work is over. */
  clear(): void;
}

export function deadline(parent: AbortSignal | undefined, ms: number, reason = `deadline of ${ms} ms passed`): Deadline {
  const c = new AbortController();
  const onParent = () => c.abort(parent!.reason);
  if (parent?.aborted) c.abort(parent.reason);
  else parent?.addEventListener('abort', onParent, { once: true });
  const timer = setTimeout(() => c.abort(new Error(reason)), ms);
  return {
    signal: c.signal,
    clear() {
      clearTimeout(timer);
      parent?.removeEventListener('abort', onParent);
    },
  };
}

/** Like AbortSignal.any, but holding its sources strongly (see above). */
export function anySignal(signals: AbortSignal[]): AbortSignal {
  const c = new AbortController();
  const listeners: [AbortSignal, () => void][] = [];
  const release = () => { for (const [s, l] of listeners.splice(0)) s.removeEventListener('abort', l); };
  for (const s of signals) {
    if (s.aborted) { c.abort(s.reason); break; }
    const l = () => { release(); c.abort(s.reason); };
    s.addEventListener('abort', l, { once: true });
    listeners.push([s, l]);
  }
  releasers.set(c.signal, release);
  return c.signal;
}

const releasers = new WeakMap<AbortSignal, () => void>();
/**
 * Done with a composite of anySignal: its listeners leave its sources. A run
 * releases its own, so a long-lived signal (a nightly's, a bisect's, over
 * hundreds of runs) does not collect one listener per run made under it.
 */
export function releaseSignal(signal: AbortSignal): void {
  releasers.get(signal)?.();
}
