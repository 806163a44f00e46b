/**
 * The AccountReader of `coconut preflight` on AWS SDK v3: read-only calls only (Describe*,
 * List*, GetParameter*). The IAM actions it needs are listed in docs/cli.md ("preflight"):
 * cloudwatch:DescribeAlarms, ecr:DescribeRepositories, ecs:DescribeClusters, ecs:ListClusters,
 * ecs:DescribeServices, ecs:ListServices, eks:DescribeCluster, eks:ListClusters,
 * ssm:GetParameter, ssm:GetParametersByPath, ssm:DescribeParameters, secretsmanager:DescribeSecret.
 * Names that exist are listed only when one asked for is missing, for "did you mean".
 */
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeRepositoriesCommand, ECRClient } from '@aws-sdk/client-ecr';
import {
  DescribeClustersCommand,
  DescribeServicesCommand,
  ECSClient,
  ListClustersCommand,
  ListServicesCommand,
} from '@aws-sdk/client-ecs';
import { DescribeClusterCommand, EKSClient, ListClustersCommand as ListEksClustersCommand } from '@aws-sdk/client-eks';
import { DescribeSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DescribeParametersCommand, GetParameterCommand, GetParametersByPathCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { AccountReader, Lookup, SecretState } from '../core/config/preflight.ts';
import { type ClientOptions, sdkConfig } from './clients.ts';
import { errorName, namedAwsError } from './errors.ts';

/** At most this many pages are read when listing names for suggestions: a hint, not an inventory. */
const MAX_SUGGESTION_PAGES = 20;

type Clients = {
  cw: CloudWatchClient;
  ecr: ECRClient;
  ecs: ECSClient;
  eks: EKSClient;
  ssm: SSMClient;
  sm: SecretsManagerClient;
};

export class AwsPreflightReader implements AccountReader {
  private readonly options: ClientOptions;
  private readonly perRegion = new Map<string, Clients>();
  constructor(options: ClientOptions = {}) {
    this.options = options;
  }

  private clients(region: string): Clients {
    let c = this.perRegion.get(region);
    if (!c) {
      // Few calls, and a user waits: fail fast instead of the adaptive retries a deployment uses.
      const config = sdkConfig({ ...this.options, region, maxAttempts: this.options.maxAttempts ?? 3 });
      c = {
        cw: new CloudWatchClient(config),
        ecr: new ECRClient(config),
        ecs: new ECSClient(config),
        eks: new EKSClient(config),
        ssm: new SSMClient(config),
        sm: new SecretsManagerClient(config),
      };
      this.perRegion.set(region, c);
    }
    return c;
  }

  async alarms(region: string, names: string[]): Promise<Lookup> {
    const { cw } = this.clients(region);
    const found = new Set<string>();
    // DescribeAlarms takes at most 100 AlarmNames per call.
    for (let i = 0; i < names.length; i += 100) {
      let NextToken: string | undefined;
      do {
        const res = await cw.send(
          new DescribeAlarmsCommand({
            AlarmNames: names.slice(i, i + 100),
            AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
            NextToken,
          }),
        );
        for (const a of [...(res.MetricAlarms ?? []), ...(res.CompositeAlarms ?? [])]) if (a.AlarmName) found.add(a.AlarmName);
        NextToken = res.NextToken;
      } while (NextToken);
    }
    return this.withCandidates(names, found, async () => {
      const all: string[] = [];
      let NextToken: string | undefined;
      let pages = 0;
      do {
        const res = await cw.send(
          new DescribeAlarmsCommand({ AlarmTypes: ['MetricAlarm', 'CompositeAlarm'], MaxRecords: 100, NextToken }),
        );
        for (const a of [...(res.MetricAlarms ?? []), ...(res.CompositeAlarms ?? [])]) if (a.AlarmName) all.push(a.AlarmName);
        NextToken = res.NextToken;
      } while (NextToken && ++pages < MAX_SUGGESTION_PAGES);
      return all;
    });
  }

  async ecrRepositories(region: string, names: string[]): Promise<Lookup> {
    const { ecr } = this.clients(region);
    const found = new Set<string>();
    // One name per call: DescribeRepositories fails the whole call when any name is missing.
    for (const name of names) {
      try {
        await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [name] }));
        found.add(name);
      } catch (error) {
        if (errorName(error) !== 'RepositoryNotFoundException') throw namedAwsError(`ECR repository ${name}`, error);
      }
    }
    return this.withCandidates(names, found, async () => {
      const all: string[] = [];
      let nextToken: string | undefined;
      let pages = 0;
      do {
        const res = await ecr.send(new DescribeRepositoriesCommand({ maxResults: 1000, nextToken }));
        for (const r of res.repositories ?? []) if (r.repositoryName) all.push(r.repositoryName);
        nextToken = res.nextToken;
      } while (nextToken && ++pages < MAX_SUGGESTION_PAGES);
      return all;
    });
  }

  async ecsClusters(region: string, clusters: string[]): Promise<Lookup> {
    const { ecs } = this.clients(region);
    const found = new Set<string>();
    // DescribeClusters takes at most 100 clusters per call.
    for (let i = 0; i < clusters.length; i += 100) {
      const asked = clusters.slice(i, i + 100);
      const res = await ecs.send(new DescribeClustersCommand({ clusters: asked }));
      for (const c of res.clusters ?? []) {
        if (c.status !== 'ACTIVE') continue;
        for (const name of asked) if (name === c.clusterName || name === c.clusterArn) found.add(name);
      }
    }
    return this.withCandidates(clusters, found, async () => {
      const all: string[] = [];
      let nextToken: string | undefined;
      let pages = 0;
      do {
        const res = await ecs.send(new ListClustersCommand({ nextToken }));
        for (const arn of res.clusterArns ?? []) all.push(arn.slice(arn.lastIndexOf('/') + 1));
        nextToken = res.nextToken;
      } while (nextToken && ++pages < MAX_SUGGESTION_PAGES);
      return all;
    });
  }

  async ecsServices(region: string, cluster: string, services: string[]): Promise<Lookup> {
    const { ecs } = this.clients(region);
    const found = new Set<string>();
    // DescribeServices takes at most 10 services per call.
    for (let i = 0; i < services.length; i += 10) {
      const asked = services.slice(i, i + 10);
      const res = await ecs.send(new DescribeServicesCommand({ cluster, services: asked }));
      for (const s of res.services ?? []) {
        if (!s.serviceName || s.status === 'INACTIVE') continue;
        for (const name of asked) if (name === s.serviceName || name === s.serviceArn) found.add(name);
      }
    }
    return this.withCandidates(services, found, async () => {
      const all: string[] = [];
      let nextToken: string | undefined;
      let pages = 0;
      do {
        const res = await ecs.send(new ListServicesCommand({ cluster, nextToken }));
        for (const arn of res.serviceArns ?? []) all.push(arn.slice(arn.lastIndexOf('/') + 1));
        nextToken = res.nextToken;
      } while (nextToken && ++pages < MAX_SUGGESTION_PAGES);
      return all;
    });
  }

  async eksClusters(region: string, names: string[]): Promise<Lookup> {
    const { eks } = this.clients(region);
    const found = new Set<string>();
    for (const name of names) {
      try {
        await eks.send(new DescribeClusterCommand({ name }));
        found.add(name);
      } catch (error) {
        if (errorName(error) !== 'ResourceNotFoundException') throw namedAwsError(`EKS cluster ${name}`, error);
      }
    }
    return this.withCandidates(names, found, async () => {
      const all: string[] = [];
      let nextToken: string | undefined;
      let pages = 0;
      do {
        const res = await eks.send(new ListEksClustersCommand({ nextToken }));
        all.push(...(res.clusters ?? []));
        nextToken = res.nextToken;
      } while (nextToken && ++pages < MAX_SUGGESTION_PAGES);
      return all;
    });
  }

  /**
   * Copilot stores an application as the SSM parameter /copilot/applications/<app> and reads
   * it with GetParameter (aws/copilot-cli internal/pkg/config/store.go fmtApplicationPath,
   * app.go GetApplication: ParameterNotFound is ErrNoSuchApplication).
   */
  copilotApps(region: string, apps: string[]): Promise<Lookup> {
    return this.parametersUnder(region, '/copilot/applications/', apps);
  }

  /** Environments: /copilot/applications/<app>/environments/<env> (store.go fmtEnvParamPath). */
  copilotEnvironments(region: string, app: string, environments: string[]): Promise<Lookup> {
    return this.parametersUnder(region, `/copilot/applications/${app}/environments/`, environments);
  }

  private async parametersUnder(region: string, prefix: string, names: string[]): Promise<Lookup> {
    const { ssm } = this.clients(region);
    const found = new Set<string>();
    for (const name of names) {
      try {
        await ssm.send(new GetParameterCommand({ Name: `${prefix}${name}` }));
        found.add(name);
      } catch (error) {
        if (errorName(error) !== 'ParameterNotFound') throw namedAwsError(`SSM parameter ${prefix}${name}`, error);
      }
    }
    return this.withCandidates(names, found, async () => {
      const all: string[] = [];
      let NextToken: string | undefined;
      let pages = 0;
      do {
        const res = await ssm.send(
          new GetParametersByPathCommand({ Path: prefix.replace(/\/$/, ''), Recursive: false, NextToken }),
        );
        for (const p of res.Parameters ?? []) if (p.Name) all.push(p.Name.slice(prefix.length));
        NextToken = res.NextToken;
      } while (NextToken && ++pages < MAX_SUGGESTION_PAGES);
      return all;
    });
  }

  /** DescribeSecret answers metadata only; a secret with no AWSCURRENT version has no value yet. */
  async secrets(region: string, names: string[]): Promise<Map<string, SecretState>> {
    const { sm } = this.clients(region);
    const states = new Map<string, SecretState>();
    for (const name of names) {
      try {
        const res = await sm.send(new DescribeSecretCommand({ SecretId: name }));
        const current = Object.values(res.VersionIdsToStages ?? {}).some((stages) => stages.includes('AWSCURRENT'));
        states.set(name, res.DeletedDate ? 'scheduled-for-deletion' : current ? 'set' : 'no-value');
      } catch (error) {
        if (errorName(error) !== 'ResourceNotFoundException') throw namedAwsError(`Secrets Manager secret ${name}`, error);
        states.set(name, 'missing');
      }
    }
    return states;
  }

  /**
   * SST's passphrase parameter of the stage (sst/sst pkg/project/provider/aws.go,
   * pathForPassphrase: /sst/passphrase/<app>/<stage>), by DescribeParameters: metadata only,
   * so the SecureString is never fetched, not even encrypted.
   */
  async sstStageExists(region: string, app: string, stage: string): Promise<boolean> {
    const { ssm } = this.clients(region);
    const name = `/sst/passphrase/${app}/${stage}`;
    const res = await ssm.send(
      new DescribeParametersCommand({ ParameterFilters: [{ Key: 'Name', Option: 'Equals', Values: [name] }] }),
    );
    return (res.Parameters ?? []).some((p) => p.Name === name);
  }

  private async withCandidates(names: string[], found: Set<string>, list: () => Promise<string[]>): Promise<Lookup> {
    if (names.every((n) => found.has(n))) return { found, candidates: [] };
    let candidates: string[] = [];
    try {
      candidates = await list();
    } catch {
      // Suggestions are a courtesy: without List permissions the finding still stands.
    }
    return { found, candidates };
  }
}
