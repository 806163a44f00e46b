/**
 * Amazon States Language, the one module for it: the shape of a definition as Coconut reads it
 * (cost model, graph, infra's checks, the local engine), the ${Placeholders} that infra/
 * substitutes with AWS values and the local runtime with local ones, and the Task states.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

export interface AslState {
  Type: string;
  Comment?: string;
  Resource?: string;
  Next?: string;
  End?: boolean;
  Default?: string;
  Choices?: (Record<string, unknown> & { Next: string })[];
  Catch?: ({ ErrorEquals: string[]; Next: string } & Record<string, unknown>)[];
  ItemProcessor?: AslDefinition;
  Iterator?: AslDefinition;
  Branches?: AslDefinition[];
  [key: string]: unknown;
}

export interface AslDefinition {
  StartAt: string;
  Comment?: string;
  States: Record<string, AslState>;
  [key: string]: unknown;
}

const PROJECT_ROOT = path.resolve(import.meta.dirname, '..', '..');

/**
 * ${<Name>Buildspec}: the text of templates/buildspec/<name>.yml as the inside of a JSON string,
 * for a build whose source is not ours (BuildspecOverride). infra/ and the local runtime both use it.
 */
export function buildspecPlaceholder(name: string, root = PROJECT_ROOT): string {
  return JSON.stringify(readFileSync(path.join(root, 'templates', 'buildspec', `${name}.yml`), 'utf8')).slice(1, -1);
}

/** Replaces every ${Name}; a placeholder without a value is an error, never left in place. */
export function substitute(text: string, values: Record<string, string>, file: string): string {
  return text.replace(/\$\{([A-Za-z0-9_]+)\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`${file}: no value for placeholder \${${name}}`);
    return value;
  });
}

export function placeholdersIn(text: string): string[] {
  return [...new Set([...text.matchAll(/\$\{([A-Za-z0-9_]+)\}/g)].map((m) => m[1] as string))];
}

/** Every Task state by name, including those inside Map and Parallel states. */
export function taskStates(definition: AslDefinition): Map<string, AslState> {
  const found = new Map<string, AslState>();
  const walk = (def: AslDefinition) => {
    for (const [name, state] of Object.entries(def.States)) {
      if (state.Type === 'Task') found.set(name, state);
      const nested = [state.ItemProcessor, state.Iterator, ...(state.Branches ?? [])].filter(Boolean) as AslDefinition[];
      nested.forEach(walk);
    }
  };
  walk(definition);
  return found;
}
