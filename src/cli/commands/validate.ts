/** `coconut validate` and `coconut schema`: check coconut.yaml; print its JSON Schema. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { helmCanaryRouteProblems } from '../../core/config/helm-canary-route.ts';
import { loadConfigFile } from '../../core/config/load.ts';
import { configJsonSchema, type RolloutConfig } from '../../core/config/schema.ts';
import { configWarnings } from '../../core/config/warnings.ts';
import { formatDuration } from '../../core/model/duration.ts';
import { freezeStatus, freezeSummary } from '../../core/pipeline/freeze.ts';
import { rolloutSteps } from '../../core/pipeline/rollout.ts';
import { freezeWindowsOf } from '../../core/triggers/plan.ts';
import { configFile } from '../config-file.ts';

export const validateUsage = 'coconut validate [--config FILE] [--json]';
export const schemaUsage = 'coconut schema';

export async function validate(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  values.config = configFile(values.config);
  const config = await loadConfigFile(values.config);
  // The files a target names are relative to the repository root, where coconut runs (as sst deploy
  // reads them); sst deploy refuses what is only a warning here, as it refuses a missing file.
  const warnings = [...configWarnings(config), ...helmCanaryRouteProblems(config, readFromCwd)];
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ valid: true, config, warnings }, null, 2)}\n`);
    return 0;
  }
  process.stdout.write(`${values.config} is valid: ${config.services.length} service(s)\n`);
  for (const s of config.services) {
    const envs = s.environments
      .map(
        (e) =>
          `${e.name}${e.approval ? ' (approval)' : ''} bake ${formatDuration(e.bake)}${e.alarms.length ? `, alarms ${e.alarms.join(', ')}` : ''}${rolloutSummary(e.rollout)}`,
      )
      .join(' -> ');
    process.stdout.write(`  ${s.name}: ${s.image.registry} ${s.image.repository} -> ${s.target.kind}: ${envs}\n`);
    // Freeze windows as they stand now: open or closed, and the next change with its time zone.
    for (const e of s.environments) {
      const windows = freezeWindowsOf(e, config.freeze);
      if (windows.length) process.stdout.write(`    ${e.name}: ${freezeSummary(freezeStatus(windows, new Date()))}\n`);
    }
  }
  for (const warning of warnings) process.stderr.write(`warning: ${warning}\n`);
  return 0;
}

export async function schema(args: string[]): Promise<number> {
  if (args.length) throw Object.assign(new Error('schema takes no arguments'), { name: 'UsageError' });
  process.stdout.write(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
  return 0;
}

/** ", canary 10% 50% 100% (each baked 30s, approved)": the steps as they will run. */
function rolloutSummary(rollout: RolloutConfig | undefined): string {
  if (!rollout) return '';
  const bake = rollout.bake === undefined ? '' : `, each baked ${formatDuration(rollout.bake)}`;
  return `, ${rollout.strategy} ${rolloutSteps(rollout)
    .map((p) => `${p}%`)
    .join(' ')}${bake}${rollout.approveSteps ? ', steps approved' : ''}`;
}

function readFromCwd(relativePath: string): string | undefined {
  try {
    return readFileSync(path.resolve(relativePath), 'utf8');
  } catch {
    return undefined;
  }
}
