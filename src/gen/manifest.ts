// The contract between `kgate build` and every runner: what was built, where,
// and which catalog cases each binary holds.
export interface BuiltBinary {
  name: string;        // e.g. "kgate-ioctl-open": also the file name under bin/
  path: string;        // absolute path on the build host
  family: string;
  api: string;         // API generation of its cases
  cases: { id: string; timeoutSec: number }[];
  sha256: string;      // of the binary, for upload caching
}
export interface BuildManifest {
  version: 1;
  builtAt: string;
  cc: string;          // compiler identity ("gcc (Debian 12.2.0-14) 12.2.0")
  binaries: BuiltBinary[];
}
export const MANIFEST_NAME = 'manifest.json';
