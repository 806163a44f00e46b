/** Slack settings from the environment, and the links messages carry. */
import { describe, expect, it } from 'vitest';
import { consoleExecutionLink, dashboardLink, slackFromEnv } from '../../src/aws/slack/setup.ts';
import { parseConfig } from '../../src/core/config/load.ts';
import { ConfigError } from '../../src/core/model/errors.ts';

describe('Function: slackFromEnv', () => {
  it('uses Slack only with both the bot token and the signing secret', () => {
    expect(
      slackFromEnv({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's', SLACK_API_URL: 'http://127.0.0.1:9/api/' }),
    ).toEqual({
      settings: { botToken: 'xoxb-1', signingSecret: 's', apiUrl: 'http://127.0.0.1:9/api/' },
    });
    expect(slackFromEnv({})).toEqual({ problem: 'SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET are not set' });
    expect(slackFromEnv({ SLACK_BOT_TOKEN: 'xoxb-1' })).toEqual({
      problem: 'SLACK_SIGNING_SECRET is not set (both are needed for Slack)',
    });
    expect(slackFromEnv({ SLACK_SIGNING_SECRET: 's' }).problem).toContain('SLACK_BOT_TOKEN is not set');
  });
});

describe('Links in Slack messages', () => {
  it('points at the dashboard page of a deployment and at its Step Functions execution', () => {
    expect(dashboardLink('https://coconut.example/')?.('demo-api-1-0-0-x')).toBe(
      'https://coconut.example/#/deployments/demo-api-1-0-0-x',
    );
    expect(dashboardLink(undefined)).toBeUndefined();
    expect(consoleExecutionLink('arn:aws:states:eu-west-1:123456789012:stateMachine:coconut-deploy')?.('d1')).toBe(
      'https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/arn:aws:states:eu-west-1:123456789012:execution:coconut-deploy:d1',
    );
    expect(consoleExecutionLink('not-an-arn')).toBeUndefined();
  });
});

describe('Config: approval and slack settings', () => {
  const base = (approval: string, slack = '') => `
services:
  - name: api
    image: { registry: ecr, repository: api }
    target: { kind: ansible, inventory: inv.yml }
    environments:
      - name: prod
        approval: ${approval}
${slack}`;

  it('accepts user and group approvers, four eyes, a channel and the slack block', () => {
    const config = parseConfig(
      base(
        `{ approvers: [U0123ABCD, W0123ABCD, S0123ABCD], timeout: 30m, fourEyes: true, channel: '#prod-approvals' }`,
        `slack: { channel: C0123ABCD, dashboardUrl: 'https://coconut.example', users: { octocat: U0123ABCD } }`,
      ),
    );
    expect(config.services[0]?.environments[0]?.approval).toEqual({
      approvers: ['U0123ABCD', 'W0123ABCD', 'S0123ABCD'],
      timeout: 1800,
      fourEyes: true,
      channel: '#prod-approvals',
    });
    expect(config.slack).toEqual({
      channel: 'C0123ABCD',
      dashboardUrl: 'https://coconut.example',
      users: { octocat: 'U0123ABCD' },
    });
    expect(parseConfig(base('{ approvers: [U1] }', 'slack: {}')).slack).toEqual({ channel: '#deploys', users: {} });
  });

  it('names what is wrong with an approver, a channel or a user mapping', () => {
    const error = (text: string) => {
      try {
        parseConfig(text, 'c.yaml');
      } catch (e) {
        return (e as ConfigError).message;
      }
      throw new Error('expected a ConfigError');
    };
    expect(error(base('{ approvers: [alice@example.com] }'))).toContain(
      'services[0].environments[0].approval.approvers[0]: expected a Slack user id (U…/W…) or user group id (S…), like U0123ABCD',
    );
    expect(error(base('{ approvers: [U1], channel: deploys }'))).toContain(
      'expected a Slack channel id (C…) or name like "#deploys"',
    );
    expect(error(base('{ approvers: [U1] }', 'slack: { users: { octocat: octocat } }'))).toContain(
      'slack.users.octocat: expected a Slack user id',
    );
    expect(() => parseConfig(base('{ approvers: [U1] }', 'slack: { channels: x }'))).toThrow(ConfigError);
  });
});
