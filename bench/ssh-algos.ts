// Upload time of one suite binary over SSH to a TCG guest, per cipher and
// compression: which algorithms should kgate ask dropbear for? (Debian 12's
// dropbear offers no AES-GCM.) Measured here: chacha20-poly1305, ssh2's
// default, is fastest; zlib costs more than it saves on static binaries.
//   npm run build && node dist/bench/ssh-algos.js
import { Client } from 'ssh2';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { startGuest, stopGuest } from '../src/runner/guest.js';
import { resolveKernel, parseKernelSpec } from '../src/kernel/index.js';
import { projectRoot } from '../src/util/paths.js';

const binary = join(projectRoot(), 'build', 'bin', 'kgate-ioctl-open');
const variants: { name: string; cipher: string[]; compress: string[] }[] = [
  { name: 'chacha20-poly1305', cipher: ['chacha20-poly1305@openssh.com'], compress: ['none'] },
  { name: 'aes128-ctr', cipher: ['aes128-ctr'], compress: ['none'] },
  { name: 'aes128-ctr + zlib', cipher: ['aes128-ctr'], compress: ['zlib@openssh.com', 'zlib'] },
];

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'kgate-algos-'));
  const ac = new AbortController();
  const started = await startGuest({ kernel: await resolveKernel({ spec: parseKernelSpec('debian:6.12') }), accel: 'tcg', runDir: dir, signal: ac.signal });
  const { guest: g, keys } = started;
  const size = statSync(binary).size;
  try {
    for (const v of variants) {
      const times: number[] = [];
      for (let i = 0; i < 3; i++) {
        const ms = await new Promise<number>((resolve, reject) => {
          const c = new Client();
          c.on('error', reject).on('ready', () => {
            c.sftp((err, sftp) => {
              if (err) return reject(err);
              const t0 = performance.now();
              sftp.fastPut(binary, `/tmp/b${i}`, (e) => { const d = performance.now() - t0; c.end(); e ? reject(e) : resolve(d); });
            });
          }).connect({ host: '127.0.0.1', port: g.sshPort, username: 'root', privateKey: keys.clientPrivate,
            algorithms: { cipher: v.cipher as never, compress: v.compress as never } });
        }).catch((e: Error) => { console.log(`${v.name}: ${e.message}`); return NaN; });
        times.push(ms);
      }
      const best = Math.min(...times);
      console.log(`${v.name.padEnd(22)} ${times.map((t) => `${t.toFixed(0)} ms`).join(', ')}  (${(size / 1024 / (best / 1000) / 1024).toFixed(1)} MiB/s best)`);
    }
  } finally {
    await stopGuest(started);
    rmSync(dir, { recursive: true, force: true });
  }
}
main().catch((e) => { console.error(e); process.exit(1); });
