/**
 * The part of SST's and Pulumi's globals that infra/ uses, typed loosely. `sst deploy`
 * generates the full types under .sst/platform/ (not in this repository: `sst install`
 * downloads them); these let `tsc` check infra/ without it. The contract test
 * (test/unit/infra-contract.test.ts) installs a recording stand-in for the same globals.
 */
export {};

declare global {
  interface Output<T> {
    apply<U>(fn: (value: T) => U | Output<U>): Output<U>;
  }
  type Input<T> = T | Output<T>;

  /** Any SST component or Pulumi resource: every property is an output. */
  interface Resource {
    readonly arn: Output<string>;
    readonly name: Output<string>;
    readonly id: Output<string>;
    readonly url: Output<string>;
    readonly [property: string]: unknown;
  }
  type ResourceClass = new (name: string, args?: Record<string, unknown>, opts?: Record<string, unknown>) => Resource;

  interface SstApi extends Resource {
    route(route: string, handler: Input<string>, args?: Record<string, unknown>): Resource;
    addAuthorizer(args: { name: string; jwt: { issuer: Input<string>; audiences: Input<string[]> } }): Resource;
  }

  interface SstSecret extends Resource {
    readonly value: Output<string>;
  }

  const $app: { name: string; stage: string };
  function $config(config: {
    app(input: { stage?: string }): Record<string, unknown>;
    run(): Promise<Record<string, unknown> | undefined>;
  }): unknown;
  function $interpolate(literals: TemplateStringsArray, ...placeholders: unknown[]): Output<string>;
  function $resolve<T extends unknown[]>(values: [...T]): Output<{ [K in keyof T]: T[K] extends Input<infer U> ? U : T[K] }>;
  function $jsonStringify(value: unknown): Output<string>;
  const $util: {
    asset: {
      FileArchive: new (path: string) => unknown;
      FileAsset: new (path: string) => unknown;
      AssetArchive: new (assets: Record<string, unknown>) => unknown;
    };
  };

  const sst: {
    Secret: new (name: string, placeholder?: string) => SstSecret;
    aws: {
      Function: ResourceClass;
      ApiGatewayV2: new (name: string, args?: Record<string, unknown>) => SstApi;
      Dynamo: ResourceClass;
      Queue: ResourceClass;
      Bucket: ResourceClass;
      StaticSite: ResourceClass;
    };
  };

  const aws: {
    sfn: { StateMachine: ResourceClass };
    iam: { Role: ResourceClass; RolePolicy: ResourceClass };
    codebuild: { Project: ResourceClass };
    codestarconnections: { Connection: ResourceClass };
    cloudwatch: { LogGroup: ResourceClass; EventRule: ResourceClass; EventTarget: ResourceClass; MetricAlarm: ResourceClass };
    lambda: { Permission: ResourceClass };
    s3: { BucketObjectv2: ResourceClass };
    sqs: { QueuePolicy: ResourceClass };
    cloudfront: { ResponseHeadersPolicy: ResourceClass };
  };
}
