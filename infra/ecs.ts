/** The ECS services Coconut deploys (kind: ecs), per environment, where the ECS step calls them: for IAM. */
import type { CoconutConfig } from '../src/core/config/schema.ts';
import { everyEnvironment } from './target-resources.ts';

export interface EcsService {
  /** Cluster name (the last segment when the config gives an ARN). */
  cluster: string;
  service: string;
  /** target.region; absent: the pipeline's region, which is where the ECS step then calls. */
  region?: string;
  /** The account of a cluster given as an ARN; absent: the pipeline's account. */
  account?: string;
}

const CLUSTER_ARN = /^arn:[^:]+:ecs:[^:]+:(\d{12}):cluster\/(.+)$/;

export function ecsServices(config: CoconutConfig): EcsService[] {
  // Read from the planned variables the ECS step is handed (cluster, service, region), so the ARNs
  // granted are those of the calls src/aws/ecs-target.ts makes.
  const all = everyEnvironment(config, 'ecs', (v) => {
    const clusterRef = v.get('COCONUT_ECS_CLUSTER') ?? '';
    const arn = CLUSTER_ARN.exec(clusterRef);
    const region = v.get('COCONUT_ECS_REGION');
    return {
      cluster: arn ? (arn[2] as string) : clusterRef,
      service: v.get('COCONUT_ECS_SERVICE') ?? '',
      ...(region ? { region } : {}),
      ...(arn ? { account: arn[1] as string } : {}),
    };
  });
  const unique = new Map(all.map((s) => [[s.region ?? '', s.account ?? '', s.cluster, s.service].join('/'), s]));
  return [...unique.keys()].sort().map((k) => unique.get(k) as EcsService);
}
