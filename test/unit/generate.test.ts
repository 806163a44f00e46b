/**
 * `coconut generate`: the scaffolds of the demo services are golden files (test/golden/, re-generated and
 * compared on every test run; refresh with COCONUT_UPDATE_GOLDEN=1 after a deliberate template change),
 * and the command refuses to overwrite, prints what it wrote and what to do next.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateCommand } from '../../src/cli/commands/generate.ts';
import { main } from '../../src/cli/main.ts';
import { parseConfig } from '../../src/core/config/load.ts';
import { PROJECT_ROOT } from '../../src/local/runtime.ts';

const DEMO = path.join(PROJECT_ROOT, 'examples/demo/coconut.yaml');
const GOLDEN = path.join(PROJECT_ROOT, 'test/golden');
const UPDATE = process.env.COCONUT_UPDATE_GOLDEN === '1';
const config = parseConfig(readFileSync(DEMO, 'utf8'), DEMO);
const scratch = mkdtempSync(path.join(tmpdir(), 'coconut-generate-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function tree(dir: string): Record<string, string> {
  if (!existsSync(dir)) return {};
  return Object.fromEntries(
    readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => {
        const full = path.join(e.parentPath, e.name);
        return [path.relative(dir, full), readFileSync(full, 'utf8')] as const;
      })
      .sort(([a], [b]) => a.localeCompare(b)),
  );
}

async function generateInto(kind: string, service: string, out: string, extra: string[] = []) {
  let printed = '';
  const code = await generateCommand([kind, '--service', service, '--config', DEMO, '--out', out, ...extra], (t) => {
    printed += t;
  });
  return { code, printed };
}

const cases = config.services.flatMap((s) => [s.target.kind, 'ci', 'dockerfile'].map((kind) => [s.name, kind] as const));

describe('Command: coconut generate (golden files of the demo services)', () => {
  it.each(cases)('%s %s matches test/golden', async (service, kind) => {
    const out = path.join(scratch, service, kind);
    const { code, printed } = await generateInto(kind, service, out);
    expect(code).toBe(0);
    const golden = path.join(GOLDEN, service, kind);
    const transcript = printed.replaceAll(out, '<out>');
    if (UPDATE) {
      rmSync(golden, { recursive: true, force: true });
      mkdirSync(path.dirname(golden), { recursive: true });
      cpSync(out, golden, { recursive: true });
      writeFileSync(`${golden}.txt`, transcript);
    }
    expect(tree(out)).toEqual(tree(golden));
    expect(transcript).toBe(readFileSync(`${golden}.txt`, 'utf8'));
  });

  it('keeps the demo Copilot workspace identical to what generate writes', async () => {
    const out = path.join(scratch, 'workspace');
    await generateInto('copilot', 'demo-worker', out);
    const demo = tree(path.join(PROJECT_ROOT, 'examples/demo/copilot'));
    expect(tree(path.join(out, 'copilot'))).toEqual(demo);
    expect(Object.keys(demo)).toContain('demo-worker/manifest.yml');
  });

  it('prints each file it wrote, what to know, and the next commands', async () => {
    const out = path.join(scratch, 'print');
    const { printed } = await generateInto('ecs', 'demo-orders', out);
    expect(printed).toContain(`wrote ${out}/ecs/demo-orders/task-definition.json\n`);
    expect(printed).toContain(`wrote ${out}/ecs/demo-orders/service-staging.json\n`);
    expect(printed).toMatch(/\nnext:\n {2}1\. /);
    expect(printed).toContain(
      `aws ecs register-task-definition --cli-input-json file://${out}/ecs/demo-orders/task-definition.json`,
    );
    const service = JSON.parse(readFileSync(path.join(out, 'ecs/demo-orders/service-staging.json'), 'utf8'));
    expect(service).toMatchObject({
      cluster: 'demo-staging',
      deploymentConfiguration: {
        deploymentCircuitBreaker: { enable: true, rollback: true },
        alarms: { alarmNames: ['demo-orders-staging-5xx'], enable: true, rollback: true },
      },
      enableExecuteCommand: false,
    });
  });

  it('refuses to overwrite without --force, writing nothing; replaces with --force', async () => {
    const out = path.join(scratch, 'overwrite');
    await generateInto('dockerfile', 'demo-api', out);
    writeFileSync(path.join(out, 'Dockerfile'), 'mine\n');
    rmSync(path.join(out, '.dockerignore'));
    await expect(generateInto('dockerfile', 'demo-api', out)).rejects.toThrow(
      `refusing to overwrite 1 existing file (${out}/Dockerfile); nothing was written. Pass --force to replace them.`,
    );
    expect(readFileSync(path.join(out, 'Dockerfile'), 'utf8')).toBe('mine\n');
    expect(existsSync(path.join(out, '.dockerignore'))).toBe(false);
    const forced = await generateInto('dockerfile', 'demo-api', out, ['--force']);
    expect(forced.printed).toContain(`wrote ${out}/Dockerfile (replaced)\n`);
    expect(readFileSync(path.join(out, 'Dockerfile'), 'utf8')).toContain('ARG SERVICE=demo-api');
  });

  it('says the Copilot CLI is past end of support, and which target kind a service really uses', async () => {
    const { printed } = await generateInto('copilot', 'demo-api', path.join(scratch, 'copilot-api'));
    expect(printed).toContain('note: AWS ended support for the Copilot CLI on 2026-06-12');
    expect(printed).toContain('note: demo-api deploys with target.kind "ansible" today');
    expect(readFileSync(path.join(scratch, 'copilot-api/copilot/demo-api/manifest.yml'), 'utf8')).toContain(
      'NOTE: AWS ended support for the Copilot CLI on 2026-06-12',
    );
  });

  it('answers bad arguments with usage (exit 2) and an unknown service with the list (exit 1)', async () => {
    const errors: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => {
      errors.push(String(chunk));
      return true;
    }) as typeof process.stderr.write;
    try {
      expect(await main(['generate', 'terraform', '--service', 'demo-api', '--config', DEMO])).toBe(2);
      expect(await main(['generate', 'helm', '--config', DEMO])).toBe(2);
      expect(await main(['generate', 'helm', '--service', 'nope', '--config', DEMO, '--out', scratch])).toBe(1);
    } finally {
      process.stderr.write = write;
    }
    expect(errors.join('')).toContain(
      'expected one kind of scaffold: helm, copilot, ecs, ansible, ci, dockerfile (got "terraform")',
    );
    expect(errors.join('')).toContain('--service NAME is required');
    expect(errors.join('')).toContain(
      'no service "nope" in coconut.yaml (services: demo-api, demo-web, demo-worker, demo-orders)',
    );
  });
});
