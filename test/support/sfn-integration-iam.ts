/**
 * What a state machine's role must allow for each service integration its Task states use, as
 * AWS documents it — the templates of the Step Functions developer guide, transcribed here, not
 * derived from infra/. `[[region]]`, `[[accountId]]` and the named resources are filled in per task.
 */
import type { AslDefinition } from '../../src/core/asl.ts';
import { taskStates } from '../../src/core/asl.ts';

export interface Need {
  state: string;
  action: string;
  resource: string;
}

/**
 * "IAM policies for AWS CodeBuild", https://docs.aws.amazon.com/step-functions/latest/dg/codebuild-iam.html
 * StartBuild, Run a Job (.sync), static resources:
 *   codebuild:StartBuild, codebuild:StopBuild, codebuild:BatchGetBuilds on
 *     arn:aws:codebuild:[[region]]:[[accountId]]:project/[[projectName]]
 *   events:PutTargets, events:PutRule, events:DescribeRule on
 *     arn:aws:events:[[region]]:[[accountId]]:rule/StepFunctionsGetEventForCodeBuildStartBuildRule
 * and the policy Step Functions generates for a .sync CodeBuild sample (same page, "Resources") adds
 *   codebuild:BatchGetReports (on "*"; its resource type is the report group, Service Authorization
 *   Reference, https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscodebuild.html).
 */
export const CODEBUILD_SYNC = {
  projectActions: ['codebuild:StartBuild', 'codebuild:StopBuild', 'codebuild:BatchGetBuilds'],
  reportActions: ['codebuild:BatchGetReports'],
  eventActions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
  rule: 'StepFunctionsGetEventForCodeBuildStartBuildRule',
} as const;

/**
 * "IAM policies for AWS Lambda", https://docs.aws.amazon.com/step-functions/latest/dg/lambda-iam.html
 * lambda:InvokeFunction on arn:aws:lambda:[[region]]:[[accountId]]:function:[[functionName]] for each
 * function a task invokes. The callback pattern (.waitForTaskToken) needs nothing more from the
 * state machine's role: the token comes back through SendTaskSuccess/Failure, called by whoever
 * holds it ("Wait for a Callback with Task Token",
 * https://docs.aws.amazon.com/step-functions/latest/dg/connect-to-resource.html#connect-wait-token).
 */
export const LAMBDA_INVOKE = { action: 'lambda:InvokeFunction' } as const;

/**
 * What each Task state needs. A CodeBuild task whose ProjectName is a path ("ProjectName.$") is a
 * dynamic resource: `projects` lists the project names it may name (ours, one per buildspec).
 */
export function integrationNeeds(
  definition: AslDefinition,
  where: { region: string; account: string; projects: string[] },
): { needs: Need[]; unknown: string[] } {
  const needs: Need[] = [];
  const unknown: string[] = [];
  const { region, account } = where;
  for (const [state, node] of taskStates(definition)) {
    const resource = String(node.Resource);
    const params = (node.Parameters ?? {}) as Record<string, unknown>;
    if (resource === 'arn:aws:states:::lambda:invoke' || resource === 'arn:aws:states:::lambda:invoke.waitForTaskToken') {
      needs.push({ state, action: LAMBDA_INVOKE.action, resource: String(params.FunctionName) });
    } else if (resource === 'arn:aws:states:::codebuild:startBuild.sync') {
      const projects = typeof params.ProjectName === 'string' ? [params.ProjectName] : where.projects;
      for (const project of projects) {
        for (const action of CODEBUILD_SYNC.projectActions) {
          needs.push({ state, action, resource: `arn:aws:codebuild:${region}:${account}:project/${project}` });
        }
        for (const action of CODEBUILD_SYNC.reportActions) {
          needs.push({ state, action, resource: `arn:aws:codebuild:${region}:${account}:report-group/${project}-reports` });
        }
      }
      for (const action of CODEBUILD_SYNC.eventActions) {
        needs.push({ state, action, resource: `arn:aws:events:${region}:${account}:rule/${CODEBUILD_SYNC.rule}` });
      }
    } else unknown.push(`${state} uses ${resource}`);
  }
  return { needs, unknown };
}
