/**
 * CodeBuild builds as people want to see them: status, the phase it is in, and the link to
 * its logs in the console.
 */
import { BatchGetBuildsCommand, type BatchGetBuildsCommandOutput, type CodeBuildClient } from '@aws-sdk/client-codebuild';
import { NotFoundError } from '../core/model/errors.ts';
import { namedAwsError } from './errors.ts';

export interface BuildStatus {
  id: string;
  project: string;
  /** SUCCEEDED | FAILED | FAULT | TIMED_OUT | IN_PROGRESS | STOPPED */
  status: string;
  currentPhase?: string;
  startTime?: string;
  endTime?: string;
  /** The CloudWatch Logs console link of the build's log. */
  logLink?: string;
  /** The failed phase and its message, when it failed. */
  failure?: string;
}

export class CodeBuildBuilds {
  private readonly codebuild: CodeBuildClient;
  constructor(codebuild: CodeBuildClient) {
    this.codebuild = codebuild;
  }

  async getBuild(id: string): Promise<BuildStatus> {
    let res: BatchGetBuildsCommandOutput;
    try {
      res = await this.codebuild.send(new BatchGetBuildsCommand({ ids: [id] }));
    } catch (error) {
      throw namedAwsError(`CodeBuild build ${id}`, error);
    }
    const build = res.builds?.[0];
    if (!build?.id) throw new NotFoundError(`CodeBuild build ${id} does not exist`);
    const failed = build.phases?.find((p) => p.phaseStatus && !['SUCCEEDED', 'IN_PROGRESS'].includes(p.phaseStatus));
    const message = failed?.contexts
      ?.map((c) => c.message)
      .filter(Boolean)
      .join('; ');
    return {
      id: build.id,
      project: build.projectName ?? '',
      status: build.buildStatus ?? 'UNKNOWN',
      ...(build.currentPhase ? { currentPhase: build.currentPhase } : {}),
      ...(build.startTime ? { startTime: build.startTime.toISOString() } : {}),
      ...(build.endTime ? { endTime: build.endTime.toISOString() } : {}),
      ...(build.logs?.deepLink ? { logLink: build.logs.deepLink } : {}),
      ...(failed ? { failure: `${failed.phaseType} ${failed.phaseStatus}${message ? `: ${message}` : ''}` } : {}),
    };
  }
}
