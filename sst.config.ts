/**
 * Coconut on AWS (SST v4): `npx sst deploy --stage prod`. Thin on purpose: each concern lives
 * in infra/<concern>.ts. Packages are imported inside run(), as SST requires.
 */
export default $config({
  app(input) {
    return {
      name: 'coconut',
      home: 'aws',
      // Production keeps its table and logs when the app is removed; other stages clean up.
      removal: input?.stage === 'prod' ? 'retain' : 'remove',
    };
  },
  async run() {
    const { deployConfig } = await import('./infra/config.ts');
    const { storage } = await import('./infra/storage.ts');
    const { secrets } = await import('./infra/secrets.ts');
    const { functions } = await import('./infra/functions.ts');
    const { pipeline, stateMachineFiles } = await import('./infra/pipeline.ts');
    const { api } = await import('./infra/api.ts');
    const { triggers } = await import('./infra/triggers.ts');
    const { alarms } = await import('./infra/alarms.ts');
    const { prefix, whereOf } = await import('./infra/naming.ts');
    const { ecsServices } = await import('./infra/ecs.ts');
    const { dashboard } = await import('./infra/dashboard.ts');

    const deploy = await deployConfig();
    const names = prefix();
    const { table } = storage();
    const { region, account } = whereOf(table.arn);
    // State machine ARNs are known from their names, so functions and machines can refer to each other.
    const machines = Object.fromEntries(
      stateMachineFiles().map(({ machine }) => {
        const name = `${names}-${machine}`;
        return [machine, { name, arn: $interpolate`arn:aws:states:${region}:${account}:stateMachine:${name}` }];
      }),
    );
    const refs = {
      region,
      account,
      tableArn: table.arn,
      machines,
      ecrRepositories: [
        ...new Set(deploy.config.services.filter((s) => s.image.registry === 'ecr').map((s) => s.image.repository)),
      ],
      buildProjectPrefix: names,
      ecsServices: ecsServices(deploy.config),
      pullSecrets: [...new Set(deploy.config.services.flatMap((s) => (s.image.pullSecret ? [s.image.pullSecret] : [])))],
    };
    const fns = functions({ configFile: deploy.file, table, secrets: secrets(), refs });
    const built = pipeline({
      config: deploy.config,
      configFile: deploy.file,
      buildProjectPrefix: names,
      region,
      account,
      functions: fns.functions,
      machines,
    });
    const http = api({ functions: fns.functions, ...(deploy.auth ? { auth: deploy.auth } : {}) });
    const site = dashboard({ apiUrl: http.api.url, configFile: deploy.file, ...(deploy.auth ? { auth: deploy.auth } : {}) });
    triggers({
      config: deploy.config,
      prefix: names,
      functions: fns.functions,
      deployMachineArn: machines.deploy?.arn as Output<string>,
    });
    alarms({
      prefix: names,
      stateMachines: built.stateMachines,
      deadLetterQueues: fns.deadLetterQueues,
      functions: fns.functions,
    });

    return {
      api: http.api.url,
      dashboard: site.url ?? site.note,
      githubWebhookUrl: http.publicRoutes['POST /webhooks/github'],
      dockerhubWebhookUrl: http.publicRoutes['POST /webhooks/dockerhub/{token}'],
      slackRequestUrl: http.publicRoutes['POST /slack/interactions'],
      publicRoutes: http.publicRoutes,
      apiAuth: deploy.auth ? `JWT from ${deploy.auth.issuer}` : 'AWS IAM (SigV4): add an `auth` section to coconut.yaml for JWT',
    };
  },
});
