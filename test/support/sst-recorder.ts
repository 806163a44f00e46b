/**
 * A recording stand-in for the SST and Pulumi globals that sst.config.ts and infra/ use:
 * every `new sst.aws.X(...)` / `new aws.y.Z(...)` is recorded with its arguments, outputs are
 * lazy values with deterministic fake ARNs, and `resolveDeep` turns any recorded argument into
 * plain data. Installed on globalThis, so the real sst.config.ts runs unchanged — nothing
 * reaches SST, Pulumi or AWS.
 */
export class Out<T = unknown> {
  private readonly compute: () => T;
  constructor(compute: () => T) {
    this.compute = compute;
  }
  apply<U>(fn: (value: T) => U | Out<U>): Out<U> {
    return new Out(() => unwrap(fn(this.value())) as U);
  }
  value(): T {
    return this.compute();
  }
}

function unwrap(value: unknown): unknown {
  return value instanceof Out ? value.value() : value;
}

export function resolveDeep(value: unknown): unknown {
  if (value instanceof Out) return resolveDeep(value.value());
  if (Array.isArray(value)) return value.map(resolveDeep);
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveDeep(v)]));
  }
  return value;
}

export interface Recorded {
  type: string;
  name: string;
  args: Record<string, unknown>;
  opts?: unknown;
  routes: { route: string; handler: unknown; args: Record<string, unknown> }[];
  authorizers: Record<string, unknown>[];
  proxy: unknown;
}

export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';

function physical(r: Recorded): string {
  const explicit = resolveDeep(r.args.name);
  return typeof explicit === 'string' ? explicit : `coconut-test-${r.name}`;
}

function arnOf(r: Recorded): string {
  const n = physical(r);
  switch (r.type) {
    case 'sst.aws.Function':
      return `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${n}`;
    case 'sst.aws.Dynamo':
      return `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${n}`;
    case 'sst.aws.Queue':
      return `arn:aws:sqs:${REGION}:${ACCOUNT}:${n}`;
    case 'sst.aws.Bucket':
      return `arn:aws:s3:::${n}`;
    case 'aws.sfn.StateMachine':
      return `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${n}`;
    case 'aws.iam.Role':
      return `arn:aws:iam::${ACCOUNT}:role/${n}`;
    case 'aws.codebuild.Project':
      return `arn:aws:codebuild:${REGION}:${ACCOUNT}:project/${n}`;
    case 'aws.cloudwatch.LogGroup':
      return `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${n}`;
    case 'aws.cloudwatch.EventRule':
      return `arn:aws:events:${REGION}:${ACCOUNT}:rule/${n}`;
    default:
      return `arn:aws:test:${REGION}:${ACCOUNT}:${r.type}/${n}`;
  }
}

/** The properties SST's components really have (platform/src/components/aws/*.ts); others throw. */
const SST_PROPERTIES: Record<string, string[]> = {
  'sst.aws.Function': ['arn', 'name', 'url', 'nodes'],
  'sst.aws.Dynamo': ['arn', 'name', 'nodes'],
  'sst.aws.Queue': ['arn', 'url', 'nodes'],
  'sst.aws.Bucket': ['arn', 'name', 'domain', 'nodes'],
  'sst.aws.ApiGatewayV2': ['url', 'nodes', 'route', 'addAuthorizer'],
  'sst.aws.StaticSite': ['url', 'nodes'],
  'sst.Secret': ['name', 'value'],
};

export interface Recording {
  resources: Recorded[];
  of(type: string): Recorded[];
  /** The recorded resource behind a proxy (e.g. a linked secret). */
  recordOf(proxy: unknown): Recorded | undefined;
}

export function installSstGlobals(stage = 'test'): { recording: Recording; restore(): void } {
  const resources: Recorded[] = [];
  const byProxy = new WeakMap<object, Recorded>();

  const make = (type: string) =>
    function Component(this: unknown, name: string, args: Record<string, unknown> = {}, opts?: unknown) {
      const record: Recorded = { type, name, args, opts, routes: [], authorizers: [], proxy: undefined };
      resources.push(record);
      const proxy = new Proxy(
        {},
        {
          get(_target, prop) {
            if (typeof prop !== 'string') return undefined;
            if (prop === 'then') return undefined;
            const known = SST_PROPERTIES[type];
            if (known && !known.includes(prop)) throw new Error(`${type} ${name} has no property ${prop}`);
            if (prop === 'route') {
              return (route: string, handler: unknown, routeArgs: Record<string, unknown> = {}) => {
                record.routes.push({ route, handler, args: routeArgs });
                return {};
              };
            }
            if (prop === 'addAuthorizer') {
              return (authorizerArgs: Record<string, unknown>) => {
                record.authorizers.push(authorizerArgs);
                return { id: new Out(() => `authorizer-${String(authorizerArgs.name)}`) };
              };
            }
            switch (prop) {
              case 'arn':
                return new Out(() => arnOf(record));
              case 'name':
                return new Out(() => physical(record));
              case 'url':
                return new Out(() =>
                  type === 'sst.aws.ApiGatewayV2' ? 'https://api.coconut.test' : `https://${type}/${record.name}`,
                );
              case 'value':
                return new Out(() => `secret-value-of-${record.name}`);
              case 'key':
                return new Out(() => resolveDeep(args.key));
              default:
                return new Out(() => `${type}:${record.name}:${prop}`);
            }
          },
        },
      );
      record.proxy = proxy;
      byProxy.set(proxy, record);
      return proxy;
    };

  const namespace = (prefix: string) =>
    new Proxy({} as Record<string, unknown>, {
      get: (_t, prop) => (typeof prop === 'string' ? make(`${prefix}.${prop}`) : undefined),
    });

  const asset = (kind: string) =>
    function Asset(this: { kind: string; path: unknown }, path: unknown) {
      this.kind = kind;
      this.path = path;
    };

  const globals: Record<string, unknown> = {
    $app: { name: 'coconut', stage },
    $config: (config: unknown) => config,
    $interpolate: (literals: TemplateStringsArray, ...values: unknown[]) =>
      new Out(() =>
        literals.reduce((text, literal, i) => text + literal + (i < values.length ? String(resolveDeep(values[i])) : ''), ''),
      ),
    $resolve: (values: unknown[]) => new Out(() => values.map(resolveDeep)),
    $jsonStringify: (value: unknown) => new Out(() => JSON.stringify(resolveDeep(value))),
    $util: { asset: { FileArchive: asset('FileArchive'), FileAsset: asset('FileAsset'), AssetArchive: asset('AssetArchive') } },
    sst: { Secret: make('sst.Secret'), aws: namespace('sst.aws') },
    aws: new Proxy({} as Record<string, unknown>, {
      get: (_t, prop) => (typeof prop === 'string' ? namespace(`aws.${prop}`) : undefined),
    }),
  };
  const previous = Object.fromEntries(Object.keys(globals).map((k) => [k, (globalThis as Record<string, unknown>)[k]]));
  Object.assign(globalThis, globals);
  return {
    recording: {
      resources,
      of: (type) => resources.filter((r) => r.type === type),
      recordOf: (proxy) => (proxy && typeof proxy === 'object' ? byProxy.get(proxy) : undefined),
    },
    restore: () => Object.assign(globalThis, previous),
  };
}
