/**
 * PATHs that decide which tools a local build finds, whatever the machine has installed: where a
 * tool changes what runs (docker present: the image is built; absent: a labelled rehearsal), a
 * test runs each path on every machine instead of skipping the one the machine does not take.
 */
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { which } from '../../src/local/tools.ts';

/**
 * `envPath` with `tool` removed: every directory that holds it is replaced by a folder of links
 * to everything else it holds (bash, python, ansible-playbook stay where the build looks).
 */
export function pathWithout(tool: string, envPath = process.env.PATH ?? ''): string {
  const dirs = envPath.split(path.delimiter).map((dir) => {
    if (!dir || !existsSync(path.join(dir, tool))) return dir;
    const shadow = mkdtempSync(path.join(tmpdir(), `coconut-path-without-${tool}-`));
    for (const name of readdirSync(dir)) {
      if (name !== tool) symlinkSync(path.join(dir, name), path.join(shadow, name));
    }
    return shadow;
  });
  const result = dirs.join(path.delimiter);
  if (which(tool, result)) throw new Error(`pathWithout: ${tool} is still on the PATH built`);
  return result;
}

export interface FakeDocker {
  /** The folder holding the FAKE docker executable (put it first on a PATH). */
  bin: string;
  /** Its calls so far, one array of arguments per call. */
  calls(): string[][];
  /** `docker info` fails from now on (a client without an engine), or works again. */
  engine(up: boolean): void;
}

/**
 * A FAKE docker executable, not Docker: it records each call (one argument per line, in a file
 * beside it, since a build's environment is allow-listed), answers `info` with success unless
 * the engine is set down, and `inspect` with a repository digest, as `docker inspect --format
 * '{{index .RepoDigests 0}}'` prints one (NAME@sha256:HEX).
 */
export function fakeDocker(digest: string): FakeDocker {
  const bin = mkdtempSync(path.join(tmpdir(), 'coconut-fake-docker-'));
  const log = path.join(bin, 'calls.log');
  const down = path.join(bin, 'engine-down');
  writeFileSync(
    path.join(bin, 'docker'),
    `#!/usr/bin/env bash
# FAKE docker for tests: records its arguments, builds and pushes nothing.
here="$(dirname "$0")"
{ printf '%s\\n' "---" "$@"; } >> "$here/calls.log"
case "$1" in
  info) [[ ! -e $here/engine-down ]] ;;
  inspect) ref="\${@: -1}"; printf '%s@%s\\n' "\${ref%:*}" '${digest}' ;;
esac
`,
  );
  chmodSync(path.join(bin, 'docker'), 0o755);
  return {
    bin,
    calls: () =>
      existsSync(log)
        ? readFileSync(log, 'utf8')
            .split('---\n')
            .filter(Boolean)
            .map((call) => call.replace(/\n$/, '').split('\n'))
        : [],
    engine: (up) => {
      if (up) rmSync(down, { force: true });
      else writeFileSync(down, '');
    },
  };
}
