/**
 * The coconut-service chart without helm (not on this machine): its values.schema.json, checked with a
 * JSON Schema validator (ajv, draft-07 like Helm's), accepts the chart's defaults and refuses insecure
 * or incomplete values; and the templates only read values the schema declares.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const CHART = 'templates/helm/coconut-service';
const schema = JSON.parse(readFileSync(path.join(CHART, 'values.schema.json'), 'utf8'));
const defaults = parse(readFileSync(path.join(CHART, 'values.yaml'), 'utf8')) as Record<string, unknown>;
const validate = new Ajv({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true }).compile(schema);

function errorsFor(values: unknown): string[] {
  return validate(values) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`);
}

/** The defaults with one change, as Helm merges user values over them. */
function withValue(pathIn: string, value: unknown): Record<string, unknown> {
  const copy = structuredClone(defaults);
  const keys = pathIn.split('.');
  let node = copy as Record<string, unknown>;
  for (const key of keys.slice(0, -1)) node = node[key] as Record<string, unknown>;
  const last = keys.at(-1) as string;
  if (value === undefined) delete node[last];
  else node[last] = value;
  return copy;
}

describe('Helm chart: coconut-service values.schema.json (ajv)', () => {
  it('accepts the chart defaults, which are secure', () => {
    expect(errorsFor(defaults)).toEqual([]);
    expect(defaults).toMatchObject({
      podSecurityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
      securityContext: {
        privileged: false,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
      },
      serviceAccount: { automountServiceAccountToken: false },
      podDisruptionBudget: { enabled: true },
      networkPolicy: { enabled: true, ingressFrom: [], allowDns: true },
    });
  });

  it.each([
    ['a privileged container', 'securityContext.privileged', true, '/securityContext/privileged must be equal to constant'],
    ['a missing image', 'image', undefined, "/ must have required property 'image'"],
    ['an image without repository', 'image.repository', undefined, "/image must have required property 'repository'"],
    ['negative replicas', 'replicaCount', -1, '/replicaCount must be >= 0'],
    [
      'an image by mutable tag where a digest is required',
      'image.digest',
      undefined,
      "/image must have required property 'digest'",
    ],
    ['a digest that is not sha256', 'image.digest', 'latest', '/image/digest must match pattern'],
    ['running as root', 'podSecurityContext.runAsNonRoot', false, '/podSecurityContext/runAsNonRoot must be equal to constant'],
    ['a writable root filesystem', 'securityContext.readOnlyRootFilesystem', false, '/securityContext/readOnlyRootFilesystem'],
    ['privilege escalation', 'securityContext.allowPrivilegeEscalation', true, '/securityContext/allowPrivilegeEscalation'],
    [
      'adding SYS_ADMIN',
      'securityContext.capabilities.add',
      ['SYS_ADMIN'],
      '/securityContext/capabilities/add/0 must be equal to one of',
    ],
    [
      'not dropping ALL capabilities',
      'securityContext.capabilities.drop',
      ['NET_RAW'],
      '/securityContext/capabilities/drop must contain',
    ],
    ['no seccomp profile', 'podSecurityContext.seccompProfile', undefined, "must have required property 'seccompProfile'"],
    [
      'an unconfined seccomp profile',
      'podSecurityContext.seccompProfile',
      { type: 'Unconfined' },
      '/podSecurityContext/seccompProfile/type',
    ],
    ['a misspelled key', 'replicas', 3, '/ must NOT have additional properties'],
    ['a pull secret that is not a name', 'imagePullSecrets', ['Bad Name'], '/imagePullSecrets/0 must match pattern'],
    ['an IRSA role that is not an IAM role ARN', 'serviceAccount.roleArn', 'admin', '/serviceAccount/roleArn must match pattern'],
  ])('rejects %s', (_what, key, value, message) => {
    const errors = errorsFor(withValue(key, value));
    expect(errors.join('\n')).toContain(message);
  });

  it('accepts a tag only when image.allowMutableTag says so', () => {
    const tagOnly = withValue('image', { repository: 'ghcr.io/acme/web', tag: '1.2.3' });
    expect(errorsFor(tagOnly).join('\n')).toContain("must have required property 'digest'");
    expect(errorsFor(withValue('image', { repository: 'ghcr.io/acme/web', tag: '1.2.3', allowMutableTag: true }))).toEqual([]);
    expect(
      errorsFor(
        withValue('image', { repository: 'ghcr.io/acme/web', digest: `sha256:${'a'.repeat(64)}`, allowMutableTag: true }),
      ),
    ).toContain("/image must have required property 'tag'");
  });

  it('accepts what Coconut and users set: IRSA role, pull secrets, ingress, HPA, declared network peers', () => {
    const values = structuredClone(defaults) as Record<string, Record<string, unknown>>;
    Object.assign(values.serviceAccount as object, { roleArn: 'arn:aws:iam::123456789012:role/demo-web' });
    values.imagePullSecrets = ['ghcr-pull'] as never;
    Object.assign(values.ingress as object, { enabled: true, className: 'alb' });
    Object.assign(values.autoscaling as object, { enabled: true, maxReplicas: 5 });
    Object.assign(values.networkPolicy as object, {
      ingressFrom: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } }],
    });
    expect(errorsFor(values)).toEqual([]);
  });
});

describe('Helm chart: coconut-service canary track and HTTPRoute values (ajv)', () => {
  const canaryStep = () => {
    const values = structuredClone(defaults) as Record<string, Record<string, unknown>>;
    values.canary = {
      enabled: true,
      weight: 10,
      replicaCount: 1,
      image: { repository: 'ghcr.io/acme/web', digest: `sha256:${'2'.repeat(64)}`, tag: '1.1.0' },
    };
    values.httpRoute = { ...values.httpRoute, enabled: true, parentRefs: [{ name: 'public', namespace: 'gateways' }] };
    return values;
  };

  it('defaults to no canary and no HTTPRoute, and accepts the values of a canary step', () => {
    expect(defaults).toMatchObject({ canary: { enabled: false, weight: 0 }, httpRoute: { enabled: false } });
    expect(errorsFor(canaryStep())).toEqual([]);
  });

  it.each([
    [
      'a canary without the HTTPRoute (nothing would split the traffic)',
      ['httpRoute', 'enabled'],
      false,
      '/httpRoute/enabled must be equal to constant',
    ],
    ['a canary weight above 100', ['canary', 'weight'], 101, '/canary/weight must be <= 100'],
    ['a fractional canary weight', ['canary', 'weight'], 12.5, '/canary/weight must be integer'],
    [
      'a canary image without digest',
      ['canary', 'image'],
      { repository: 'ghcr.io/acme/web' },
      "/canary/image must have required property 'digest'",
    ],
    [
      'an HTTPRoute attached to no Gateway',
      ['httpRoute', 'parentRefs'],
      [],
      '/httpRoute/parentRefs must NOT have fewer than 1 items',
    ],
    [
      'a parentRef without name',
      ['httpRoute', 'parentRefs'],
      [{ namespace: 'gateways' }],
      "/httpRoute/parentRefs/0 must have required property 'name'",
    ],
    ['a hostname with a path', ['httpRoute', 'hostnames'], ['shop.example.com/x'], '/httpRoute/hostnames/0 must match pattern'],
  ])('rejects %s', (_what, [group, key], value, message) => {
    const values = canaryStep();
    (values[group as string] as Record<string, unknown>)[key as string] = value;
    expect(errorsFor(values).join('\n')).toContain(message);
  });
});

describe('Helm chart: coconut-service templates', () => {
  const dir = path.join(CHART, 'templates');
  const files = readdirSync(dir).map((f) => [f, readFileSync(path.join(dir, f), 'utf8')] as const);

  it('reads only values that the schema declares (a typo in a template would render nothing)', () => {
    const used = new Set(
      files.flatMap(([, text]) => [...text.matchAll(/\.Values((?:\.[A-Za-z][A-Za-z0-9]*)+)/g)].map((m) => m[1] as string)),
    );
    expect(used.size).toBeGreaterThan(30);
    for (const ref of used) {
      let node = schema as { properties?: Record<string, unknown> };
      for (const key of ref.slice(1).split('.')) {
        const next = node.properties?.[key];
        expect(next, `.Values${ref} is not declared in values.schema.json`).toBeDefined();
        node = next as typeof node;
      }
    }
  });

  it('includes only templates that _helpers.tpl defines', () => {
    const defined = new Set(
      [...(files.find(([f]) => f === '_helpers.tpl')?.[1] ?? '').matchAll(/define "([^"]+)"/g)].map((m) => m[1]),
    );
    const included = new Set(files.flatMap(([, text]) => [...text.matchAll(/include "([^"]+)"/g)].map((m) => m[1])));
    expect([...included].filter((name) => !defined.has(name))).toEqual([]);
  });

  it('has balanced template actions and blocks in every file', () => {
    for (const [file, text] of files) {
      expect(text.split('{{').length, file).toBe(text.split('}}').length);
      const opens = [...text.matchAll(/\{\{-?\s*(if|with|range|define)\b/g)].length;
      const ends = [...text.matchAll(/\{\{-?\s*end\s*-?\}\}/g)].length;
      expect(ends, file).toBe(opens);
    }
  });

  it('renders the security settings into the pods, and denies traffic by default', () => {
    const text = Object.fromEntries(files);
    expect(text['deployment.yaml']).toContain(
      'automountServiceAccountToken: {{ .Values.serviceAccount.automountServiceAccountToken }}',
    );
    expect(text['deployment.yaml']).toContain('{{- toYaml .Values.podSecurityContext | nindent 8 }}');
    expect(text['deployment.yaml']).toContain('{{- toYaml .Values.securityContext | nindent 12 }}');
    expect(text['deployment.yaml']).toContain('emptyDir:');
    expect(text['deployment.yaml']).toContain('image: {{ include "coconut-service.image" . | quote }}');
    expect(text['_helpers.tpl']).toContain('printf "%s@%s" .Values.image.repository');
    expect(text['networkpolicy.yaml']).toMatch(/policyTypes:\n\s+- Ingress\n\s+- Egress/);
    expect(text['networkpolicy.yaml']).toContain('ingress: []');
    expect(text['serviceaccount.yaml']).toContain('eks.amazonaws.com/role-arn');
  });
});
