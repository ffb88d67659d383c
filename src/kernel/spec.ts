// The --kernel forms, parsed without touching the host so the CLI can reject a
// bad one (exit 2) before anything is fetched or booted.
import { KgateError } from '../model.js';

export type KernelSpec =
  | { kind: 'debian'; series: string; exact?: string; text: string }
  | { kind: 'path'; bzImage: string; text: string }
  | { kind: 'tree'; path: string; ref?: string; text: string };

export const KERNEL_FORMS = [
  'debian:6.12 (newest 6.12 cloud kernel in the archive)',
  'debian:6.12.107 (that stable release)',
  'debian:6.1 (newest 6.1 cloud kernel)',
  'tree:PATH[@REF] (build the kernel from a git tree)',
  'PATH to a bzImage (modules with --modules DIR)',
] as const;

export function parseKernelSpec(text: string): KernelSpec {
  const s = text.trim();
  if (s.startsWith('tree:')) {
    // The last @ splits off the ref, so a path with an @ in it still works when a ref follows.
    const body = s.slice('tree:'.length);
    const at = body.lastIndexOf('@');
    const path = at > 0 ? body.slice(0, at) : body;
    const ref = at > 0 ? body.slice(at + 1) : undefined;
    if (!path) throw new KgateError('user', `kernel '${text}': tree: needs a path (tree:PATH or tree:PATH@REF)`);
    if (ref !== undefined && !/^[^\s~^:?*[\\]+$/.test(ref)) throw new KgateError('user', `kernel '${text}': '${ref}' is not a git ref`);
    return ref === undefined ? { kind: 'tree', path, text: s } : { kind: 'tree', path, ref, text: s };
  }
  const deb = /^debian:(\d+\.\d+)(?:\.(\d+|0-\d+))?$/.exec(s);
  if (deb) {
    const series = deb[1];
    return deb[2] === undefined ? { kind: 'debian', series, text: s } : { kind: 'debian', series, exact: `${series}.${deb[2]}`, text: s };
  }
  // A path is anything with a slash or that names a file; a bare word like "6.12"
  // or "debian" is a typo of the debian form, not a file in the cwd.
  if (!s.startsWith('debian') && !/^\d/.test(s) && s.length > 0 && !s.includes(':')) {
    return { kind: 'path', bzImage: s, text: s };
  }
  throw new KgateError('user', `unknown kernel '${text}'; accepted: ${KERNEL_FORMS.join(', ')}`);
}

/** Debian's cloud kernel package names, both naming schemes:
 *  linux-image-6.12.117+deb12-cloud-amd64-unsigned and linux-image-6.1.0-50-cloud-amd64-unsigned. */
const PKG_RE = /^linux-image-((\d+\.\d+)\.(\d+)(?:\+deb\d+)?(?:-(\d+))?)-cloud-amd64-unsigned$/;

export interface DebianKernelPackage {
  name: string;
  version: string;      // Debian package version: 6.12.117-1~deb12u1, 6.1.158-1
  series: string;       // 6.12
  upstream: string;     // 6.12.117 (from the package version; 6.1's name says only 6.1.0)
  abi: string;          // what the name carries: 6.12.117+deb12, 6.1.0-50
}

/** Rows of `apt-cache madison` ("name | version | source") -> the cloud kernel packages. */
export function parseMadison(text: string): DebianKernelPackage[] {
  const out = new Map<string, DebianKernelPackage>();
  for (const row of text.split('\n')) {
    const cols = row.split('|').map((c) => c.trim());
    if (cols.length < 3) continue;
    const m = PKG_RE.exec(cols[0]);
    if (!m) continue;
    const version = cols[1];
    const upstream = version.split('-')[0];
    const prev = out.get(cols[0]);
    if (prev && compareVersions(prev.version, version) >= 0) continue;
    out.set(cols[0], { name: cols[0], version, series: m[2], upstream, abi: m[1] });
  }
  return [...out.values()];
}

export function isCloudKernelPackage(name: string): boolean {
  return PKG_RE.test(name);
}

/** Numeric-aware comparison, enough for kernel package versions (6.1.158-1 vs 6.1.140-1, 6.12.117-1~deb12u1). */
export function compareVersions(a: string, b: string): number {
  const split = (v: string) => v.split(/[^0-9]+/).filter(Boolean).map(Number);
  const x = split(a);
  const y = split(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? -1) - (y[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
}

/** Pick the package a debian: spec means, or say which ones the archive does hold. */
export function choosePackage(spec: Extract<KernelSpec, { kind: 'debian' }>, pkgs: DebianKernelPackage[]): DebianKernelPackage {
  const inSeries = pkgs.filter((p) => p.series === spec.series).sort((a, b) => compareVersions(a.upstream, b.upstream) || compareVersions(a.version, b.version));
  if (inSeries.length === 0) {
    const series = [...new Set(pkgs.map((p) => p.series))].sort(compareVersions);
    throw new KgateError('user', `no Debian ${spec.series} cloud kernel in the archive; series available: ${series.join(', ') || 'none (is the apt archive reachable?)'}`);
  }
  if (!spec.exact) return inSeries[inSeries.length - 1];
  const hit = inSeries.filter((p) => p.upstream === spec.exact || p.abi === spec.exact || p.abi.startsWith(`${spec.exact}+`));
  if (hit.length === 0) {
    const avail = [...new Set(inSeries.map((p) => (p.abi.includes('-') && !p.abi.includes('+') ? `${p.upstream} (${p.abi})` : p.upstream)))];
    throw new KgateError('user', `no Debian ${spec.series}.x kernel ${spec.exact} in the archive; available: ${avail.join(', ')}`);
  }
  return hit[hit.length - 1];
}

/**
 * The release string of a bzImage, read from its setup header: the 16-bit field at
 * 0x20e points (minus 0x200) at "6.12.117+deb12-cloud-amd64 (debian-kernel@...) #1 SMP ...".
 * This is what `file` reports; it lets a bare bzImage path give a KernelIdentity without booting.
 */
export function bzImageRelease(head: Buffer): string | undefined {
  if (head.length < 0x210 || head.toString('latin1', 0x202, 0x206) !== 'HdrS') return undefined;
  const off = head.readUInt16LE(0x20e) + 0x200;
  if (off >= head.length) return undefined;
  const end = head.indexOf(0, off);
  const text = head.toString('latin1', off, end < 0 ? Math.min(head.length, off + 256) : end);
  const rel = text.split(' ')[0];
  return /^\d+\.\d+/.test(rel) ? rel : undefined;
}
