/**
 * The scan gate's scanner in the local runtime: `trivy image --format json` when trivy is on
 * PATH. Without trivy the scan is not performed and the report says so, which the stage
 * records as a labelled rehearsal (PLANNED, nothing scanned) — never as a clean scan.
 * The image reference is passed as an argument (no shell), after checking it against the
 * OCI patterns.
 */
import { spawn } from 'node:child_process';
import type { ImageRef } from '../core/model/deployment.ts';
import { InvalidInputError } from '../core/model/errors.ts';
import { isValidDigest, isValidRepository, isValidTag } from '../core/model/oci.ts';
import type { ScanFinding, Scanner, ScanReport } from '../core/ports.ts';
import { which } from './tools.ts';

export interface TrivyScannerOptions {
  /** PATH to find trivy on (default: this process's PATH). */
  envPath?: string;
  timeoutMs?: number;
  /** --strict: a missing trivy refuses the image instead of labelling the scan a rehearsal. */
  strict?: boolean;
}

interface TrivyOutput {
  Results?: {
    Target?: string;
    Vulnerabilities?: { VulnerabilityID?: string; PkgName?: string; InstalledVersion?: string; Severity?: string }[] | null;
  }[];
}

export function imageReference(image: ImageRef): string {
  if (!isValidRepository(image.repository)) throw new InvalidInputError(`invalid repository ${JSON.stringify(image.repository)}`);
  if (!isValidTag(image.tag)) throw new InvalidInputError(`invalid tag ${JSON.stringify(image.tag)}`);
  if (image.digest !== undefined && !isValidDigest(image.digest)) {
    throw new InvalidInputError(`invalid digest ${JSON.stringify(image.digest)}`);
  }
  const host = image.registry === 'ghcr' ? 'ghcr.io/' : image.registry === 'dockerhub' ? 'docker.io/' : '';
  return image.digest ? `${host}${image.repository}@${image.digest}` : `${host}${image.repository}:${image.tag}`;
}

export function parseTrivyOutput(text: string): ScanFinding[] {
  let parsed: TrivyOutput;
  try {
    parsed = JSON.parse(text) as TrivyOutput;
  } catch {
    throw new Error(`trivy printed no JSON report (expected --format json output), got: ${text.slice(0, 200)}`);
  }
  return (parsed.Results ?? []).flatMap((r) =>
    (r.Vulnerabilities ?? []).map((v) => ({
      id: v.VulnerabilityID ?? 'UNKNOWN-ID',
      severity: (v.Severity ?? 'UNKNOWN').toUpperCase(),
      ...(v.PkgName ? { package: v.PkgName } : {}),
      ...(v.InstalledVersion ? { version: v.InstalledVersion } : {}),
    })),
  );
}

export class TrivyScanner implements Scanner {
  private readonly opts: TrivyScannerOptions;
  constructor(opts: TrivyScannerOptions = {}) {
    this.opts = opts;
  }

  async scanImage(image: ImageRef): Promise<ScanReport> {
    const ref = imageReference(image);
    const bin = which('trivy', this.opts.envPath ?? process.env.PATH ?? '');
    if (!bin) {
      return {
        performed: false,
        scanner: 'trivy',
        findings: [],
        missingTools: ['trivy'],
        ...(this.opts.strict ? {} : { rehearsal: true }),
        note: `trivy not found on PATH: ${ref} was not scanned (install trivy to scan locally)`,
      };
    }
    const stdout = await run(
      bin,
      ['image', '--format', 'json', '--quiet', '--scanners', 'vuln', ref],
      this.opts.timeoutMs ?? 600_000,
    );
    return { performed: true, scanner: 'trivy', findings: parseTrivyOutput(stdout) };
  }
}

function run(bin: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-2000);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(stdout);
      else
        reject(
          Object.assign(new Error(`trivy ${args.at(-1)} failed (${signal ?? `exit ${code}`}): ${stderr.trim().slice(-500)}`), {
            name: 'Coconut.ScanFailed',
          }),
        );
    });
  });
}
