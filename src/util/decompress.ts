// The compressions kernel files come in (a bzImage's payload, Debian's .ko.xz
// and .ko.zst modules): gzip by node's zlib, xz and zstd by the system's tools,
// which Debian has and node does not.
import { gunzipSync } from 'node:zlib';
import { runTool } from './run-tool.js';

export type Compression = 'gzip' | 'xz' | 'zstd';

const MAGIC: [Compression, Buffer][] = [
  ['zstd', Buffer.from('28b52ffd', 'hex')],
  ['xz', Buffer.from('fd377a585a00', 'hex')],
  ['gzip', Buffer.from('1f8b', 'hex')],
];

/** Which of the three `data` starts as, by its magic; undefined for anything else (lz4, lzma, bzip2, lzo, plain). */
export function compressionOf(data: Buffer): Compression | undefined {
  return MAGIC.find(([, m]) => data.subarray(0, m.length).equals(m))?.[0];
}

export async function decompress(kind: Compression, data: Buffer, signal?: AbortSignal): Promise<Buffer> {
  if (kind === 'gzip') return gunzipSync(data);
  return (await runTool(kind, ['-dc'], { input: data, binary: true, signal })).stdoutBuffer;
}
