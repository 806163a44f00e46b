/** `coconut cost`: what Coconut costs per deployment and per month, beside CodePipeline V2. */
import { parseArgs } from 'node:util';
import deployDefinition from '../../../stepfunctions/deploy.asl.json' with { type: 'json' };
import { loadConfigFile } from '../../core/config/load.ts';
import { type AslMachine, type CostAssumptions, costModel, DEFAULT_ASSUMPTIONS, PRICES } from '../../core/cost/model.ts';
import { configFile } from '../config-file.ts';
import { UsageError } from '../errors.ts';
import { table } from '../format.ts';

export const usage =
  'coconut cost [--deploys-per-day N] [--service S] [--build-minutes M] [--compute general1.small|general1.medium|general1.large] [--lambda-memory MB] [--lambda-ms MS] [--arch arm64|x86_64] [--config FILE] [--json]';

function number(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max)
    throw new UsageError(`--${name} must be a number from ${min} to ${max}, got "${raw}"`);
  return n;
}

const usd = (n: number) => (n === 0 ? '$0' : n < 0.01 ? `$${n.toFixed(6)}` : n < 1 ? `$${n.toFixed(4)}` : `$${n.toFixed(2)}`);

export async function cost(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      'deploys-per-day': { type: 'string' },
      service: { type: 'string' },
      'build-minutes': { type: 'string' },
      compute: { type: 'string' },
      'lambda-memory': { type: 'string' },
      'lambda-ms': { type: 'string' },
      arch: { type: 'string' },
      config: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: true,
  });
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const computeTypes = Object.keys(PRICES.codeBuild.perBuildMinute);
  if (values.compute !== undefined && !computeTypes.includes(values.compute))
    throw new UsageError(`--compute must be one of ${computeTypes.join(', ')}, got "${values.compute}"`);
  if (values.arch !== undefined && !['arm64', 'x86_64'].includes(values.arch))
    throw new UsageError(`--arch must be arm64 or x86_64, got "${values.arch}"`);
  const assumptions: CostAssumptions = {
    deploysPerDay: number('deploys-per-day', values['deploys-per-day'], DEFAULT_ASSUMPTIONS.deploysPerDay, 0, 100_000),
    buildMinutes: number('build-minutes', values['build-minutes'], DEFAULT_ASSUMPTIONS.buildMinutes, 0, 480),
    computeType: (values.compute ?? DEFAULT_ASSUMPTIONS.computeType) as CostAssumptions['computeType'],
    lambdaMemoryMb: number('lambda-memory', values['lambda-memory'], DEFAULT_ASSUMPTIONS.lambdaMemoryMb, 128, 10_240),
    lambdaMilliseconds: number('lambda-ms', values['lambda-ms'], DEFAULT_ASSUMPTIONS.lambdaMilliseconds, 1, 900_000),
    architecture: (values.arch ?? DEFAULT_ASSUMPTIONS.architecture) as CostAssumptions['architecture'],
  };
  values.config = configFile(values.config);
  const config = await loadConfigFile(values.config);
  const service = values.service ? config.services.find((s) => s.name === values.service) : config.services[0];
  if (!service)
    throw new UsageError(
      `no service "${values.service}" in ${values.config} (services: ${config.services.map((s) => s.name).join(', ')})`,
    );
  const report = costModel(deployDefinition as AslMachine, service, assumptions);
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ ...report, prices: PRICES }, null, 2)}\n`);
    return 0;
  }
  const w = (s: string) => process.stdout.write(`${s}\n`);
  const flag = (verified: boolean) => (verified ? '' : ' *');
  w(`Coconut on AWS — ${service.name} (${values.config}), ${report.region} prices retrieved ${report.pricesRetrieved}`);
  w('');
  w(
    `One deployment through ${report.environments.map((e) => `${e.environment}${e.approval ? ' (approval)' : ''}`).join(' -> ')}:`,
  );
  w(
    table(
      ['ENVIRONMENT', 'STATES ENTERED', 'LAMBDA', 'BUILDS'],
      report.environments.map((e) => [
        e.environment,
        String(e.path.transitions),
        String(e.path.lambdaInvocations),
        String(e.path.builds),
      ]),
    ),
  );
  w('');
  w(
    table(
      ['', 'QUANTITY', 'PER DEPLOYMENT'],
      report.perDeployment.lines.map((l) => [l.what, l.quantity, `${usd(l.usd)}${flag(l.verified)}`]),
    ),
  );
  w(
    `total per deployment: ${usd(report.perDeployment.usd)}   (rolled back in ${report.environments[0]?.environment}: ${usd(report.rolledBack.usd)}, ${report.rolledBack.transitions} transitions)`,
  );
  w('');
  w(
    `Per month at ${assumptions.deploysPerDay} deployments a day (${report.perMonth.deployments}): ${usd(report.perMonth.usd)}; after the free tiers: ${usd(report.perMonth.afterFreeTiers)}`,
  );
  w(
    `CodePipeline V2, the same pipeline: ${report.codePipelineV2.actionMinutesPerDeployment} action minutes per deployment = ${usd(report.codePipelineV2.perDeploymentUsd)} with the same builds; ${usd(report.codePipelineV2.perMonthUsd)} a month, ${usd(report.codePipelineV2.afterFreeTier)} after its free tier`,
  );
  w(`  (${report.codePipelineV2.note})`);
  w('');
  w(
    `Assumptions: ${assumptions.buildMinutes} min per build on ${assumptions.computeType}; Lambda ${assumptions.lambdaMemoryMb} MB ${assumptions.architecture}, ${assumptions.lambdaMilliseconds} ms per invocation. Change them with the options (see --help).`,
  );
  w(`Not counted: ${report.notCounted.join('; ')}.`);
  w('* third-party or unverified price figures: see src/core/cost/prices.json for every source.');
  return 0;
}
