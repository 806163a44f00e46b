/**
 * `npm test` runs this before vitest: it checks the system tools the suite uses for real
 * (src/local/system-tools.ts) and installs the missing ones where it may (root or passwordless
 * sudo, with apt-get), saying what and why. Otherwise it stops with the one command to run.
 * The suite never skips a test because a tool is missing; this step makes sure none is.
 *
 *   node scripts/system-tools.ts            check, install what is missing where allowed
 *   node scripts/system-tools.ts --check    check only: exit 1 with the install command
 */
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import {
  aptListsPresent,
  installAbility,
  installCommand,
  missingTools,
  planInstall,
  type SystemTool,
  TEST_TOOLS,
} from '../src/local/system-tools.ts';

const { values } = parseArgs({ options: { check: { type: 'boolean', default: false } }, strict: true });
const say = (line: string) => process.stderr.write(`system tools: ${line}\n`);
const describe = (tools: SystemTool[]) => tools.map((t) => `  ${t.command} (package ${t.aptPackage}): ${t.usedFor}`).join('\n');

const missing = missingTools(TEST_TOOLS);
const can = installAbility();
// The host_hardening check-mode test resolves packages against apt's lists; a fresh image has none.
const needLists = can.apt && !aptListsPresent();
if (missing.length === 0 && !needLists) process.exit(0);

const plan = values.check ? { kind: 'instruct' as const } : planInstall(missing, can, { updateLists: needLists });
const packages = [...new Set(missing.map((t) => t.aptPackage))];
const oneCommand = packages.length ? installCommand(packages, can) : `${can.root ? '' : 'sudo '}apt-get update`;

if (plan.kind === 'install') {
  if (missing.length) say(`the tests run these for real and they are missing, so installing them:\n${describe(missing)}`);
  else say("apt's package lists are missing (the host_hardening check resolves packages against them): fetching them");
  for (const argv of plan.commands) {
    say(`running: ${argv.join(' ')}`);
    const run = spawnSync(argv[0] as string, argv.slice(1), {
      // apt's progress lines are noise in a test log; its errors (stderr) still show.
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    if (run.status !== 0) {
      say(
        `\`${argv.join(' ')}\` failed (${run.error?.message ?? `exit ${run.status}`}); install them yourself with:\n  ${oneCommand}`,
      );
      process.exit(1);
    }
  }
  const still = missingTools(TEST_TOOLS);
  if (still.length) {
    say(`still missing after installing:\n${describe(still)}\ninstall them yourself with:\n  ${oneCommand}`);
    process.exit(1);
  }
  say('installed; starting the tests');
  process.exit(0);
}

if (plan.kind === 'instruct' || plan.kind === 'none') {
  say(
    missing.length
      ? `the tests run these for real and they are missing:\n${describe(missing)}\nnothing here may install them (${can.apt ? 'not root, and sudo asks for a password' : 'no apt-get'}); run:\n  ${oneCommand}\nthen \`npm test\` again.`
      : `apt's package lists are missing; run:\n  ${oneCommand}`,
  );
  process.exit(1);
}
