// What every job over the commits of a kernel tree takes (a bisect, a gate):
// the cases, how often to run them, how to configure each tree build, the
// guest, and where results go. Each job adds its own refs.
import type { Emit } from '../events.js';
import type { Selection } from '../catalog/selection.js';
import type { TargetSpec } from '../runner/target-spec.js';

export interface TreeJob {
  selection: Selection;
  repeat: number;
  baseConfig?: string;
  fragments?: string[];
  target: Extract<TargetSpec, { kind: 'qemu' }>;
  buildDir: string;
  /** results/ of the checkout: the job goes to <root>/<job>/<id>/. */
  resultsRoot: string;
  /** The command line, for the report's reproducer. */
  argv: string[];
  signal: AbortSignal;
  emit: Emit;
  /** One line of what the job is doing ("step 2 of about 4: abc123 subject"). */
  log: (line: string) => void;
  /** "Name <address>" for the report's Reported-by:/Tested-by: (--reporter); none: the lines to fill in. */
  reporter?: string;
}
