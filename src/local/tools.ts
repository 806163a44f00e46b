/** Finding executables on PATH without running a shell. */
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

export function which(tool: string, envPath = process.env.PATH ?? ''): string | undefined {
  if (tool.includes('/')) return isExecutable(tool) ? tool : undefined;
  for (const dir of envPath.split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, tool);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
