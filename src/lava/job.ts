// The LAVA job definition of a kgate run, as data (lavaJob) and as YAML
// (jobYaml): a pure function of what the run needs, unit-tested, validated by
// LAVA's own schema (src/lava/validate.ts), never by one of kgate's.
//
//   deploy  to: tmpfs    the kernel and kgate's initramfs (+ the suite), as URLs
//   boot    method: qemu the device's QEMU; no prompts: nothing logs in
//   test    monitors     one per family: LAVA test cases <family>.<case>,
//                        result pass/fail/skip, measurement = the observed errno
//                        number (0 for ok, -1 for another token), units = the
//                        observed token itself (EISDIR, ok, bad_data)
import { stringify } from 'yaml';
import type { WorkItem } from '../runner/execute.js';
import { MARK, binaryDeadlineSec, lavaCmdline } from './guest.js';

export interface LavaJobSpec {
  name: string;
  kernelUrl: string;
  initrdUrl: string;
  items: WorkItem[];
  /** Guest memory (MiB) and CPUs: the local guest's defaults (1024, 2). */
  memMB?: number;
  smp?: number;
  /** Seconds the boot may take (kgate run's --boot-timeout). */
  bootTimeoutSec?: number;
  /** Extra kernel command-line words. */
  append?: string[];
  priority?: 'high' | 'medium' | 'low';
  visibility?: 'public' | 'personal';
  /** Extra job context for the device template (a lab sets arch and no_kvm itself). */
  context?: Record<string, string | number | boolean>;
}

/**
 * A line the monitor reads as a case result; the groups are LAVA's (test_case_id, result, measurement, units).
 * The line ends in " ;" and the pattern asks for it: the monitor matches on what the console has delivered so
 * far, and a line that arrived in two pieces was read as units "EI" for EISDIR.
 */
export const CASE_PATTERN = `${MARK.case} (?P<test_case_id>[A-Z][0-9]+(?:\\.[a-z0-9_]+)?) (?P<result>pass|fail|skip) (?P<measurement>-?[0-9]+) (?P<units>[^\\s;]+) ;`;

/** A marker as a pexpect pattern (the monitor's start and end are regexes). */
const literal = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const minutes = (sec: number) => ({ minutes: Math.max(1, Math.ceil(sec / 60)) });

export function lavaJob(spec: LavaJobSpec): Record<string, unknown> {
  const bootSec = spec.bootTimeoutSec ?? 120;
  const testSec = spec.items.reduce((n, i) => n + binaryDeadlineSec(i), 0) + 60;
  // QEMU options ride on the kernel's image_arg: LAVA's device template has no
  // -append of its own for tmpfs boots, and context extra_options did not reach it.
  const kernelArg = [
    '-kernel {kernel}',
    `-append "${lavaCmdline(spec.append)}"`,
    // A panic (panic=-1 reboots at once) ends QEMU: the job sees EOF, not a second boot.
    '-no-reboot',
    `-smp ${spec.smp ?? 2}`,
  ].join(' ');
  return {
    device_type: 'qemu',
    job_name: spec.name,
    timeouts: {
      job: minutes(bootSec + testSec + 300),
      action: minutes(Math.max(bootSec, testSec) + 60),
      connection: { minutes: 2 },
    },
    priority: spec.priority ?? 'medium',
    visibility: spec.visibility ?? 'public',
    context: { arch: 'amd64', memory: spec.memMB ?? 1024, ...(spec.context ?? {}) },
    metadata: {
      'kgate.cases': String(spec.items.reduce((n, i) => n + i.caseIds.length, 0)),
      'kgate.families': spec.items.map((i) => i.binary.family).join(','),
    },
    actions: [
      {
        deploy: {
          timeout: { minutes: 5 },
          to: 'tmpfs',
          images: {
            kernel: { image_arg: kernelArg, url: spec.kernelUrl },
            initrd: { image_arg: '-initrd {initrd}', url: spec.initrdUrl },
          },
        },
      },
      { boot: { timeout: minutes(bootSec), method: 'qemu', media: 'tmpfs' } },
      {
        test: {
          timeout: minutes(testSec),
          monitors: spec.items.map((i) => ({
            name: i.binary.family,
            start: literal(`${MARK.begin} ${i.binary.family}`) + '\\s',
            end: literal(`${MARK.end} ${i.binary.family} `),
            pattern: CASE_PATTERN,
          })),
        },
      },
    ],
  };
}

export function jobYaml(job: Record<string, unknown>): string {
  return stringify(job, { lineWidth: 0 });
}

/** The LAVA test case name of a kgate case, as the monitor makes it (lower case, \W+ -> _). */
export function lavaCaseName(id: string): string {
  return id.trim().toLowerCase().replace(/\W+/g, '_');
}
