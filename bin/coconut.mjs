#!/usr/bin/env node
// The `coconut` command. Coconut is TypeScript run directly by Node 22 (type stripping);
// the project brings its own Node 22 (the `node` devDependency). When started by an older
// Node, re-run with the project's.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
if (!process.features.typescript) {
  const node22 = path.join(here, '..', 'node_modules', 'node', 'bin', 'node');
  if (!existsSync(node22)) {
    process.stderr.write(
      `coconut needs Node 22 or newer (this is ${process.version}); run \`npm ci\` first so the project's Node 22 is installed\n`,
    );
    process.exit(1);
  }
  const child = spawn(node22, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  // Stopping this process stops Coconut: pass the signals on (Ctrl-C reaches both anyway).
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 : 1)));
} else {
  const { main } = await import('../src/cli/main.ts');
  process.exitCode = await main(process.argv.slice(2));
}
