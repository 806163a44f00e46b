/** Names shared by the infra files: one prefix per stage, and component names from file names. */

/** "pipeline-step" -> "PipelineStep" */
export function pascal(kebab: string): string {
  return kebab
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((part) => part[0]?.toUpperCase() + part.slice(1))
    .join('');
}

/** "PipelineStep" -> "pipeline-step" */
export function kebab(pascalName: string): string {
  return pascalName.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}

/** Physical-name prefix of what Coconut creates: "coconut-prod". */
export function prefix(): string {
  return `${$app.name}-${$app.stage}`;
}

/** Region and account of the deployment, read from an ARN Coconut created (no extra lookups). */
export function whereOf(arn: Output<string>): { region: Output<string>; account: Output<string> } {
  return { region: arn.apply((a) => a.split(':')[3] ?? ''), account: arn.apply((a) => a.split(':')[4] ?? '') };
}
