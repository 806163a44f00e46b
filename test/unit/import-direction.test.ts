/**
 * Every import runs downhill (test/support/import-rules.ts holds the layers): the repository
 * has no import that runs back up, and an import planted against the rule is found in each
 * form a module can be named in.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { checkImports, importsOf, repositorySources } from '../support/import-rules.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

describe('import direction', () => {
  it('no import in the repository runs back up a layer', () => {
    const sources = repositorySources(ROOT);
    // The scan saw the layers it checks (an empty walk would pass anything).
    for (const file of [
      'src/core/ports.ts',
      'src/aws/ports.ts',
      'functions/api.ts',
      'infra/pipeline.ts',
      'src/local/runtime.ts',
    ]) {
      expect(sources.map((s) => s.file)).toContain(file);
    }
    expect(checkImports(sources).map((v) => `${v.file}: ${v.specifier}: ${v.problem}`)).toEqual([]);
  });

  it("misses no import that esbuild's own TypeScript parser finds", async () => {
    // esbuild (a devDependency, the bundler SST uses for the handlers) parses each file and lists
    // the imports it keeps; it drops type-only imports, which the regular expressions also find.
    const sources = repositorySources(ROOT).filter((s) => !s.file.endsWith('.d.ts'));
    const outdir = mkdtempSync(path.join(tmpdir(), 'import-direction-'));
    try {
      const result = await build({
        absWorkingDir: ROOT,
        entryPoints: sources.map((s) => s.file),
        bundle: true,
        packages: 'external',
        platform: 'node',
        format: 'esm',
        write: false,
        metafile: true,
        outdir,
        logLevel: 'silent',
      });
      const missed: string[] = [];
      let seen = 0;
      for (const { file, text } of sources) {
        const found = new Set(importsOf(text));
        for (const i of result.metafile.inputs[file]?.imports ?? []) {
          seen++;
          if (i.original && !found.has(i.original)) missed.push(`${file}: ${i.original} (${i.kind})`);
        }
      }
      expect(seen).toBeGreaterThan(300);
      expect(missed).toEqual([]);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });

  it('finds every form of import', () => {
    const text = [
      "import { a } from './one.ts';",
      "import type {\n  B,\n  C,\n} from '../two.ts';",
      'import * as three from "./three.ts";',
      "import './four.ts';",
      "export { e } from './five.ts';",
      "export type { F } from './six.ts';",
      "export * from './seven.ts';",
      "const eight = await import('./eight.ts');",
      "import { z } from 'zod';",
      '// a comment that says to import something from somewhere',
    ].join('\n');
    expect(importsOf(text).sort()).toEqual(
      ['./one.ts', '../two.ts', './three.ts', './four.ts', './five.ts', './six.ts', './seven.ts', './eight.ts', 'zod'].sort(),
    );
  });

  it('fails on imports planted against the rule (the four that ran back up before issue 14, and more)', () => {
    const planted = [
      // src/aws/ports.ts -> functions/commons/ports.ts (adapters importing the entry points)
      { file: 'src/aws/ports.ts', text: "import { memoize, type Ports } from '../../functions/commons/ports.ts';" },
      { file: 'src/aws/slack/interactions.ts', text: "import type { HttpResult } from '../../../functions/commons/http.ts';" },
      // infra/pipeline.ts -> src/local/asl.ts (infra importing the local runtime)
      { file: 'infra/pipeline.ts', text: "import {\n  substitute,\n  taskStates,\n} from '../src/local/asl.ts';" },
      // src/cli/commands/status.ts -> functions/api.ts (the CLI importing a handler)
      { file: 'src/cli/commands/status.ts', text: "import type { DeploymentView } from '../../../functions/api.ts';" },
      // the domain importing an adapter, an entry point, the AWS SDK
      { file: 'src/core/triggers/plan.ts', text: "export { DynamoStore } from '../../aws/dynamo/store.ts';" },
      { file: 'src/core/triggers/plan.ts', text: "const m = await import('../../../functions/api.ts');" },
      { file: 'src/core/triggers/plan.ts', text: "import { SFNClient } from '@aws-sdk/client-sfn';" },
      { file: 'src/registry/oci-digest.ts', text: "import '../local/runtime.ts';" },
      { file: 'functions/api.ts', text: "import { startLocalRuntime } from '../src/local/runtime.ts';" },
      { file: 'src/core/triggers/plan.ts', text: "import { x } from '../../../templates/x.ts';" },
    ];
    const violations = checkImports(planted);
    expect(violations.map((v) => `${v.file} ${v.specifier}`)).toEqual(planted.map((p) => `${p.file} ${importsOf(p.text)[0]}`));
    expect(violations[0]?.problem).toBe('src/aws may not import functions (allowed: src/core, src/registry)');
    expect(violations[6]?.problem).toBe('src/core must run without AWS: it may not import @aws-sdk/client-sfn');
    expect(violations[9]?.problem).toBe('imports templates/x.ts, which is in no layer of test/support/import-rules.ts');
  });

  it('allows what runs downhill', () => {
    const allowed = [
      {
        file: 'functions/api.ts',
        text: "import { awsPorts } from '../src/aws/ports.ts';\nimport type { Ports } from '../src/core/handler-ports.ts';",
      },
      { file: 'src/local/runtime.ts', text: "import { createApiHandler } from '../../functions/api.ts';" },
      { file: 'src/aws/image-registry.ts', text: "import { OciDigestClient } from '../registry/oci-digest.ts';" },
      { file: 'src/core/triggers/plan.ts', text: "import { z } from 'zod';\nimport { createHash } from 'node:crypto';" },
    ];
    expect(checkImports(allowed)).toEqual([]);
  });
});
