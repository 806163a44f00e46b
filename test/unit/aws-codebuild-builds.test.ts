/**
 * CodeBuildBuilds with aws-sdk-client-mock: moto 5.2's CodeBuild answers timestamps as ISO
 * strings that SDK v3 cannot parse, so the responses here have the shape AWS documents.
 */
import { BatchGetBuildsCommand, CodeBuildClient } from '@aws-sdk/client-codebuild';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { CodeBuildBuilds } from '../../src/aws/codebuild-builds.ts';
import { NotFoundError } from '../../src/core/model/errors.ts';

const codebuild = mockClient(CodeBuildClient);
afterEach(() => codebuild.reset());

describe('Class: CodeBuildBuilds (aws-sdk-client-mock; moto cannot serve CodeBuild to SDK v3)', () => {
  it('reads status, phase and the log link of a build', async () => {
    codebuild.on(BatchGetBuildsCommand, { ids: ['coconut-ansible-deploy:1'] }).resolves({
      builds: [
        {
          id: 'coconut-ansible-deploy:1',
          projectName: 'coconut-ansible-deploy',
          buildStatus: 'IN_PROGRESS',
          currentPhase: 'BUILD',
          startTime: new Date('2026-03-01T10:00:00Z'),
          logs: { deepLink: 'https://console.aws.amazon.com/cloudwatch/home?region=us-east-1#logEvent:group=/aws/codebuild/x' },
        },
      ],
    });
    expect(await new CodeBuildBuilds(new CodeBuildClient({})).getBuild('coconut-ansible-deploy:1')).toEqual({
      id: 'coconut-ansible-deploy:1',
      project: 'coconut-ansible-deploy',
      status: 'IN_PROGRESS',
      currentPhase: 'BUILD',
      startTime: '2026-03-01T10:00:00.000Z',
      logLink: 'https://console.aws.amazon.com/cloudwatch/home?region=us-east-1#logEvent:group=/aws/codebuild/x',
    });
  });

  it('names the phase that failed and its message', async () => {
    codebuild.on(BatchGetBuildsCommand).resolves({
      builds: [
        {
          id: 'coconut-helm-deploy:7',
          projectName: 'coconut-helm-deploy',
          buildStatus: 'FAILED',
          endTime: new Date('2026-03-01T10:05:00Z'),
          phases: [
            { phaseType: 'INSTALL', phaseStatus: 'SUCCEEDED' },
            {
              phaseType: 'BUILD',
              phaseStatus: 'FAILED',
              contexts: [{ message: 'COMMAND_EXECUTION_ERROR: helm upgrade exit 1' }],
            },
          ],
        },
      ],
    });
    const build = await new CodeBuildBuilds(new CodeBuildClient({})).getBuild('coconut-helm-deploy:7');
    expect(build).toMatchObject({ status: 'FAILED', failure: 'BUILD FAILED: COMMAND_EXECUTION_ERROR: helm upgrade exit 1' });
  });

  it('says which build does not exist, and names the build when CodeBuild refuses', async () => {
    codebuild.on(BatchGetBuildsCommand).resolves({ builds: [], buildsNotFound: ['x:1'] });
    const builds = new CodeBuildBuilds(new CodeBuildClient({}));
    await expect(builds.getBuild('x:1')).rejects.toThrow(new NotFoundError('CodeBuild build x:1 does not exist'));
    codebuild.on(BatchGetBuildsCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    await expect(builds.getBuild('x:2')).rejects.toMatchObject({
      name: 'Coconut.Retryable',
      message: 'CodeBuild build x:2: ThrottlingException: Rate exceeded',
    });
  });
});
