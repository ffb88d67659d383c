// Debian's chromium, headless, for the tests that check what a report shows.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { execa } from 'execa';

export const CHROMIUM = '/usr/bin/chromium';
export const chromiumSkip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing (apt-get install chromium; scripts/setup.sh installs it)`;

/**
 * Runs chromium headless on `url` with `args`, in its own process group and profile; whatever happens, the
 * group it made (its renderer and zygote children too) is killed by the pid we started, so nothing outlives
 * the test.
 */
export async function chromium(profile: string, args: string[], url: string): Promise<{ stdout: string; stderr: string }> {
  const proc = execa(CHROMIUM, ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', `--user-data-dir=${profile}`, ...args, url], {
    reject: false, timeout: 60_000, detached: true, stdin: 'ignore', env: { HOME: profile }, forceKillAfterDelay: 2000,
  });
  try {
    const r = await proc;
    assert.ok(!r.timedOut, `chromium took over 60 s: ${String(r.stderr).slice(-500)}`);
    assert.equal(r.exitCode, 0, `chromium exited ${r.exitCode}: ${String(r.stderr).slice(-1000)}`);
    return { stdout: String(r.stdout), stderr: String(r.stderr) };
  } finally {
    try { process.kill(-proc.pid!, 'SIGKILL'); } catch { /* the group is gone */ }
  }
}

/** The text of an HTML fragment, as a reader sees it (tags dropped, entities of the page decoded). */
export function textOf(html: string): string {
  return html.replace(/<[^>]*>/g, ' ')
    .replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');
}

