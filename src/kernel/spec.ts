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
  'debian:7.3 (newest 7.3 cloud kernel: bookworm, trixie, their backports and security, sid)',
  'debian:latest (the newest cloud kernel Debian ships)',
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
  if (s === 'debian:latest') return { kind: 'debian', series: 'latest', text: s };
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

/**
 * Debian's cloud kernels come in three shapes, told apart by the names the
 * archive holds at one ABI (6.1.0-57, 6.12.118+deb12, 7.3.4+deb13):
 *  - one package, /boot/vmlinuz-<release> and (/usr)/lib/modules/<release>:
 *    linux-image-<abi>-cloud-amd64-unsigned (6.1, 6.12), or only the signed
 *    linux-image-<abi>-cloud-amd64 (6.12 backports, 6.16-6.18);
 *  - split (6.19 on): linux-image-<abi>-cloud-amd64 is a meta package, the image is
 *    linux-binary(-unsigned)-<abi>-cloud-amd64 (/boot/vmlinuz-<release>, or from 7.2
 *    /usr/lib/modules/<release>/vmlinuz[.unsigned]), the .ko.xz are in
 *    linux-modules-<abi>-cloud-amd64 and config, modules.order and modules.builtin in
 *    linux-base-<abi>-cloud-amd64. Where linux-modules is not in the archive
 *    (6.19-7.1 here) the kernel is listed but cannot run: virtio_net is a module.
 */
const NAME_RE = /^linux-(image|binary-unsigned|binary|modules|base)-((\d+\.\d+)\.(\d+)(?:\+deb\d+(?:\.\d+)?)?(?:-(\d+))?)-cloud-amd64(-unsigned)?$/;

export interface DebianKernelPackage {
  /** The package that holds the image: its name names the cache entry and the identity. */
  name: string;
  version: string;      // Debian package version: 6.12.117-1~deb12u1, 6.1.158-1, 7.3.4-1~bpo13+1
  series: string;       // 6.12
  upstream: string;     // 6.12.117 (from the package version; 6.1's name says only 6.1.0)
  abi: string;          // what the name carries: 6.12.117+deb12, 6.1.0-50, 7.3.4+deb13
  release: string;      // uname -r: <abi>-cloud-amd64
  suite: string;        // the suite madison named first: trixie-backports, bookworm-security
  layout: 'image' | 'split';
  /** What apt-get download fetches, in order. */
  packages: string[];
  /** Packages the kernel needs that no suite holds: listed, not runnable. */
  missing: string[];
}

/** Rows of `apt-cache madison` ("name | version | source") -> the cloud kernels. */
export function parseMadison(text: string): DebianKernelPackage[] {
  // abi -> version -> { kinds present, suite }
  const byAbi = new Map<string, Map<string, { kinds: Set<string>; suite: string; m: RegExpExecArray }>>();
  for (const row of text.split('\n')) {
    const cols = row.split('|').map((c) => c.trim());
    if (cols.length < 3) continue;
    const m = NAME_RE.exec(cols[0]);
    if (!m) continue;
    const kind = m[1] === 'image' && m[6] ? 'image-unsigned' : m[1];
    if (kind !== 'image' && kind !== 'image-unsigned' && m[6]) continue;
    const version = cols[1];
    const suite = /\s(\S+?)\/\S+\s+\S+\s+Packages$/.exec(cols[2])?.[1] ?? cols[2];
    const vs = byAbi.get(m[2]) ?? new Map();
    byAbi.set(m[2], vs);
    const e = vs.get(version) ?? { kinds: new Set<string>(), suite, m };
    e.kinds.add(kind);
    vs.set(version, e);
  }
  const out: DebianKernelPackage[] = [];
  for (const [abi, vs] of byAbi) {
    const version = [...vs.keys()].sort(compareVersions).at(-1)!;
    const { kinds, suite, m } = vs.get(version)!;
    const n = (k: string) => (k === 'image-unsigned' ? `linux-image-${abi}-cloud-amd64-unsigned` : `linux-${k}-${abi}-cloud-amd64`);
    const base = { version, series: m[3], upstream: version.split('-')[0], abi, release: `${abi}-cloud-amd64`, suite };
    if (kinds.has('image-unsigned')) {
      out.push({ ...base, name: n('image-unsigned'), layout: 'image', packages: [n('image-unsigned')], missing: [] });
    } else if (kinds.has('binary-unsigned') || kinds.has('binary')) {
      const bin = kinds.has('binary-unsigned') ? 'binary-unsigned' : 'binary';
      const missing = kinds.has('modules') ? [] : [n('modules')];
      out.push({ ...base, name: n(bin), layout: 'split', packages: [n(bin), ...(kinds.has('modules') ? [n('modules')] : []), ...(kinds.has('base') ? [n('base')] : [])], missing });
    } else if (kinds.has('image')) {
      out.push({ ...base, name: n('image'), layout: 'image', packages: [n('image')], missing: [] });
    }
  }
  return out.sort((a, b) => compareVersions(a.upstream, b.upstream) || compareVersions(a.version, b.version));
}

/** A name parseMadison reads (the ones worth asking madison about). */
export function isCloudKernelPackage(name: string): boolean {
  const m = NAME_RE.exec(name);
  return !!m && (m[1] === 'image' || !m[6]);
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

const seriesOf = (pkgs: DebianKernelPackage[]) => [...new Set(pkgs.map((p) => p.series))].sort(compareVersions);
const whyNot = (p: DebianKernelPackage) => `${p.upstream} (${p.missing.join(', ')} in no suite)`;

/** Pick the package a debian: spec means, or say which ones the archive does hold. */
export function choosePackage(spec: Extract<KernelSpec, { kind: 'debian' }>, pkgs: DebianKernelPackage[]): DebianKernelPackage {
  const byVersion = (a: DebianKernelPackage, b: DebianKernelPackage) => compareVersions(a.upstream, b.upstream) || compareVersions(a.version, b.version);
  const runnable = pkgs.filter((p) => p.missing.length === 0).sort(byVersion);
  if (spec.series === 'latest') {
    const p = runnable.at(-1);
    if (!p) throw new KgateError('user', 'no Debian cloud kernel in the archive (is deb.debian.org reachable? kgate kernels --refresh)');
    return p;
  }
  const all = pkgs.filter((p) => p.series === spec.series).sort(byVersion);
  const inSeries = all.filter((p) => p.missing.length === 0);
  if (all.length === 0) {
    throw new KgateError('user', `no Debian ${spec.series} cloud kernel in the archive; series available: ${seriesOf(runnable).join(', ') || 'none (is the apt archive reachable?)'}`);
  }
  if (!spec.exact) {
    if (inSeries.length === 0) {
      throw new KgateError('user', `Debian's ${spec.series} cloud kernels cannot run: the archive lacks their modules (newest: ${whyNot(all.at(-1)!)}); series that run: ${seriesOf(runnable).join(', ')}`);
    }
    return inSeries[inSeries.length - 1];
  }
  const matches = (p: DebianKernelPackage) => p.upstream === spec.exact || p.abi === spec.exact || p.abi.startsWith(`${spec.exact}+`);
  const hit = inSeries.filter(matches);
  if (hit.length === 0) {
    const broken = all.filter(matches).at(-1);
    if (broken) throw new KgateError('user', `Debian kernel ${spec.exact} cannot run: ${whyNot(broken)}`);
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
/**
 * The size the boot protocol header says the image has: the setup sectors
 * (setup_sects at 0x1f1, 0 meaning 4) plus the boot sector, then syssize
 * (0x1f4) 16-byte paragraphs of protected-mode kernel. A file shorter than
 * that is cut short (a copy or download that stopped): QEMU loads it without
 * a word and the guest prints nothing.
 */
export function bzImageDeclaredSize(head: Buffer): number | undefined {
  if (head.length < 0x1f8 || head.toString('latin1', 0x202, 0x206) !== 'HdrS') return undefined;
  return ((head[0x1f1] || 4) + 1) * 512 + head.readUInt32LE(0x1f4) * 16;
}

export function bzImageRelease(head: Buffer): string | undefined {
  if (head.length < 0x210 || head.toString('latin1', 0x202, 0x206) !== 'HdrS') return undefined;
  const off = head.readUInt16LE(0x20e) + 0x200;
  if (off >= head.length) return undefined;
  const end = head.indexOf(0, off);
  const text = head.toString('latin1', off, end < 0 ? Math.min(head.length, off + 256) : end);
  const rel = text.split(' ')[0];
  return /^\d+\.\d+/.test(rel) ? rel : undefined;
}
