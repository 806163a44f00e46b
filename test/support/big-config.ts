/**
 * A coconut.yaml of many services, each with its own ECR repository and, per environment, its
 * own CloudWatch alarms: the shape of bench/load.bench.ts's 1,000-service config (services
 * svc-<i> in team/svc-<i>), with alarm names a real account would have, so that whatever
 * Coconut derives per repository or per alarm (EventBridge patterns, IAM) is sized as at scale.
 */
export function bigConfigYaml(services = 1000): string {
  const service = (i: number) => `  - name: svc-${i}
    image: { registry: ecr, repository: team/svc-${i} }
    target: { kind: ansible, inventory: examples/demo/ansible/inventory.yml }
    environments:
      - { name: staging, bake: 1m, alarms: [svc-${i}-staging-5xx-rate, svc-${i}-staging-p99-latency] }
      - { name: prod, bake: 5m, alarms: [svc-${i}-prod-5xx-rate, svc-${i}-prod-p99-latency] }`;
  return `version: 1\nservices:\n${Array.from({ length: services }, (_, i) => service(i)).join('\n')}\n`;
}
