// The option table (src/cli/options.ts): commander's options, the zod schemas
// and the reproducer all come from it, so every option must survive a round
// trip: values -> reproducer argv -> commander -> the same values, which the
// command's schema takes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Command } from 'commander';
import { KERNEL_FORMS } from '../../../src/kernel/spec.js';
import { COMMANDS, OPTIONS, addOptions, reproducerArgv, schemaOf, type CommandName } from '../../../src/cli/options.js';

/** commander as main.ts builds it for one command, parsing `argv` (the command's words already cut off). */
function parsed(name: CommandName, argv: string[]): Record<string, unknown> {
  const cmd = addOptions(new Command(name).exitOverride(), COMMANDS[name]);
  cmd.parse(argv, { from: 'user' });
  return cmd.opts();
}

describe('the reproducer', () => {
  for (const name of Object.keys(COMMANDS) as CommandName[]) {
    it(`${name}: every option survives a round trip (values -> argv -> commander -> values), and its schema takes them`, () => {
      const rows = COMMANDS[name];
      const values = Object.fromEntries(Object.entries(rows).map(([k, r]) => [k, r.example]));
      const argv = reproducerArgv(name, values);
      assert.deepEqual(argv.slice(0, name.split(' ').length), name.split(' '));
      const back = parsed(name, argv.slice(name.split(' ').length));
      assert.deepEqual(back, values);
      const checked = schemaOf(rows).safeParse(back);
      assert.ok(checked.success, `${name}: ${checked.success ? '' : checked.error.issues.map((i) => i.message).join('; ')}`);
    });
  }

  it('leaves out what the defaults give, and keeps the order the user wrote', () => {
    const given = ['run', '--target', 'local', '--case', 'U01,U10.flags'];
    const values = parsed('run', given.slice(1));
    assert.deepEqual(reproducerArgv('run', values, given), given);
    // A pinned kernel is a value like any other: given back where the user wrote --kernel.
    const pinned = reproducerArgv('run', { ...parsed('run', ['--kernel', 'debian:7.3', '--jobs', '2']), kernel: 'debian:7.3.4' }, ['run', '--kernel', 'debian:7.3', '--jobs', '2']);
    assert.deepEqual(pinned, ['run', '--kernel', 'debian:7.3.4', '--jobs', '2']);
    // A default the user wrote stays written: metadata.json's argv is the command line as typed.
    const typed = ['run', '--kernel', 'debian:6.12', '--case', 'K3.pass', '--results', '/tmp/r'];
    assert.deepEqual(reproducerArgv('run', parsed('run', typed.slice(1)), typed), typed);
  });
});

describe('the table', () => {
  it("--kernel's help names every form kernel/spec.ts accepts", () => {
    for (const form of KERNEL_FORMS) assert.ok(OPTIONS.kernel.help.includes(form.replace(/ \(.*\)$/, '')), form);
  });

  it("a bad value gets the schema's one line", () => {
    const r = schemaOf(COMMANDS.run).safeParse({ ...parsed('run', []), mem: '12' });
    assert.equal(r.success, false);
    assert.deepEqual(r.success ? [] : r.error.issues.map((i) => i.message), ['--mem must be at least 256 (MiB)']);
  });
});

describe('--reporter', () => it('$KGATE_REPORTER is --reporter\'s default for bisect, gate and nightly, checked as the flag is; the flag wins', async () => {
  const { parseOpts } = await import('../../../src/cli/inputs.js');
  const was = process.env.KGATE_REPORTER;
  try {
    for (const cmd of ['bisect', 'gate', 'nightly'] as const) {
      assert.equal((COMMANDS[cmd] as Record<string, unknown>).reporter, OPTIONS.reporter, `${cmd} takes --reporter`);
      const schema = schemaOf({ reporter: OPTIONS.reporter });
      const raw = (o: Record<string, unknown>) => o;
      process.env.KGATE_REPORTER = 'A Maintainer <m@example.org>';
      assert.equal(parseOpts(schema, raw({})).reporter, 'A Maintainer <m@example.org>', cmd);
      assert.equal(parseOpts(schema, raw({ reporter: 'B Dev <b@example.org>' })).reporter, 'B Dev <b@example.org>', cmd);
      process.env.KGATE_REPORTER = 'nobody';
      assert.throws(() => parseOpts(schema, raw({})), /: --reporter \(or \$KGATE_REPORTER\) must be "Name <address>"$/, cmd);
      process.env.KGATE_REPORTER = '';
      assert.equal(parseOpts(schema, raw({})).reporter, undefined, `${cmd}: neither given: the lines to fill in`);
    }
  } finally {
    if (was === undefined) delete process.env.KGATE_REPORTER; else process.env.KGATE_REPORTER = was;
  }
}));
