/**
 * ECR: the digest behind a tag, and the image's scan findings for the scan gate (the Scanner
 * port). Basic scanning (scan on push) and enhanced scanning (Inspector) both answer through
 * DescribeImageScanFindings; a scan still running is Coconut.ScanPending, which the state
 * machine retries with backoff.
 */
import {
  DescribeImageScanFindingsCommand,
  type DescribeImageScanFindingsCommandOutput,
  DescribeImagesCommand,
  type ECRClient,
  type ImageIdentifier,
  StartImageScanCommand,
} from '@aws-sdk/client-ecr';
import type { ImageRef } from '../core/model/deployment.ts';
import { NotFoundError } from '../core/model/errors.ts';
import { ERRORS } from '../core/model/failure.ts';
import type { ScanFinding, Scanner, ScanReport } from '../core/ports.ts';
import { errorName, namedAwsError } from './errors.ts';

export class ScanPendingError extends Error {
  override name = ERRORS.scanPending;
}

/** Scan statuses after which no findings will come: the scan is reported as not performed. */
const NO_FINDINGS = new Set(['UNSUPPORTED_IMAGE', 'FINDINGS_UNAVAILABLE', 'SCAN_ELIGIBILITY_EXPIRED']);

export class EcrRegistry implements Scanner {
  private readonly ecr: ECRClient;
  constructor(ecr: ECRClient) {
    this.ecr = ecr;
  }

  /** The digest a tag points to now. NotFoundError when the repository or tag does not exist. */
  async resolveDigest(repository: string, tag: string): Promise<string> {
    try {
      const res = await this.ecr.send(new DescribeImagesCommand({ repositoryName: repository, imageIds: [{ imageTag: tag }] }));
      const digest = res.imageDetails?.[0]?.imageDigest;
      if (!digest) throw new NotFoundError(`ECR repository ${repository} has no image tagged ${tag}`);
      return digest;
    } catch (error) {
      if (['ImageNotFoundException', 'RepositoryNotFoundException'].includes(errorName(error))) {
        throw new NotFoundError(`ECR repository ${repository} has no image tagged ${tag} (${errorName(error)})`);
      }
      if (error instanceof NotFoundError) throw error;
      throw namedAwsError(`ECR image ${repository}:${tag}`, error);
    }
  }

  async scanImage(image: ImageRef): Promise<ScanReport> {
    if (image.registry !== 'ecr') {
      return {
        performed: false,
        scanner: 'ecr',
        findings: [],
        note: `Coconut scans on AWS with ECR image scanning, which covers only images in ECR repositories, and this one is in ${image.registry}: push it to ECR, or remove scan: from this environment`,
      };
    }
    const imageId: ImageIdentifier = image.digest ? { imageDigest: image.digest } : { imageTag: image.tag };
    const what = `ECR image ${image.repository}${image.digest ? `@${image.digest}` : `:${image.tag}`}`;
    const findings: ScanFinding[] = [];
    let nextToken: string | undefined;
    do {
      let res: DescribeImageScanFindingsCommandOutput;
      try {
        res = await this.ecr.send(
          new DescribeImageScanFindingsCommand({ repositoryName: image.repository, imageId, maxResults: 1000, nextToken }),
        );
      } catch (error) {
        if (errorName(error) === 'ScanNotFoundException') return this.startScan(image.repository, imageId, what);
        if (['ImageNotFoundException', 'RepositoryNotFoundException'].includes(errorName(error))) {
          throw new NotFoundError(`${what} does not exist (${errorName(error)})`);
        }
        throw namedAwsError(`scan findings of ${what}`, error);
      }
      const status = res.imageScanStatus?.status ?? 'COMPLETE';
      if (status === 'IN_PROGRESS' || status === 'PENDING') {
        throw new ScanPendingError(`the scan of ${what} is ${status}; retrying`);
      }
      if (NO_FINDINGS.has(status)) {
        return {
          performed: false,
          scanner: 'ecr',
          findings: [],
          note: `ECR could not scan ${what}: ${status}${res.imageScanStatus?.description ? ` — ${res.imageScanStatus.description}` : ''}`,
        };
      }
      if (status !== 'COMPLETE' && status !== 'ACTIVE') {
        throw Object.assign(new Error(`the scan of ${what} ended ${status}: ${res.imageScanStatus?.description ?? ''}`), {
          name: 'Coconut.ScanFailed',
        });
      }
      findings.push(...findingsOf(res));
      nextToken = res.nextToken;
    } while (nextToken);
    return { performed: true, scanner: 'ecr', findings };
  }

  /** No scan yet (scan on push is off): start one; the gate is retried until it completes. */
  private async startScan(repository: string, imageId: ImageIdentifier, what: string): Promise<never> {
    try {
      await this.ecr.send(new StartImageScanCommand({ repositoryName: repository, imageId }));
    } catch (error) {
      throw namedAwsError(`starting a scan of ${what}`, error);
    }
    throw new ScanPendingError(`no scan of ${what} existed; started one`);
  }
}

function findingsOf(res: DescribeImageScanFindingsCommandOutput): ScanFinding[] {
  const basic = (res.imageScanFindings?.findings ?? []).map((f) => {
    const attr = new Map((f.attributes ?? []).map((a) => [a.key, a.value]));
    const pkg = attr.get('package_name');
    const version = attr.get('package_version');
    return {
      id: f.name ?? 'UNKNOWN-ID',
      severity: f.severity ?? 'UNDEFINED',
      ...(pkg ? { package: pkg } : {}),
      ...(version ? { version } : {}),
    };
  });
  const enhanced = (res.imageScanFindings?.enhancedFindings ?? []).map((f) => {
    const pkg = f.packageVulnerabilityDetails?.vulnerablePackages?.[0];
    return {
      id: f.packageVulnerabilityDetails?.vulnerabilityId ?? f.title ?? 'UNKNOWN-ID',
      severity: f.severity ?? 'UNDEFINED',
      ...(pkg?.name ? { package: pkg.name } : {}),
      ...(pkg?.version ? { version: pkg.version } : {}),
    };
  });
  return [...basic, ...enhanced];
}
