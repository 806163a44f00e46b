/**
 * Where each CodeBuild project runs: compute type, image, timeout and network, per buildspec.
 * Pure (no SST or Pulumi globals) so tests can check it against CodeBuild's documented limits.
 *
 * No project runs on Lambda compute. CodeBuild's Lambda compute has no VPC (no private SSH hosts,
 * no private EKS endpoints), no privileged mode (no Docker), no build timeout setting and a
 * 15-minute ceiling (CodeBuild user guide, "Limitations of AWS Lambda compute"); a Helm wait may
 * last an hour and a Copilot deploy waits for CloudFormation and ECS. Its images also lack the
 * tools: the Lambda python images ship no ansible, helm or copilot (aws-codebuild-docker-images,
 * al-lambda/aarch64/python3.12/Dockerfile). So every project is EC2 compute, the smallest size
 * (BUILD_GENERAL1_SMALL: up to 4 GiB, 2 vCPUs), on Graviton (ARM_CONTAINER, cheaper per minute
 * than x86; `build.architecture: x86_64` where a Region has no ARM builds), except the image
 * build, which builds the app's image for x86_64 hosts and needs Docker (privileged mode) on
 * LINUX_CONTAINER.
 */
import type { BuildConfig, CoconutConfig } from '../src/core/config/schema.ts';

/** aws-codebuild-docker-images al/aarch64/standard/3.0: Amazon Linux 2023, Python 3.11 default, aws, jq, curl, git. */
export const ARM_IMAGE = 'aws/codebuild/amazonlinux-aarch64-standard:3.0';
/** aws-codebuild-docker-images al/x86_64/standard/5.0: Amazon Linux 2023 with Docker 28. */
export const X86_IMAGE = 'aws/codebuild/amazonlinux2-x86_64-standard:5.0';

/** CodeBuild's build timeout bounds, in minutes (API Project.timeoutInMinutes: 5 to 2160). */
export const MIN_TIMEOUT_MINUTES = 5;
export const MAX_TIMEOUT_MINUTES = 2160;
/**
 * How long a build may wait for an instance (Project.queuedTimeoutInMinutes: 5 to 480; CodeBuild's
 * default is 8 hours). The state machine's task waits for queueing and the build together, so its
 * TimeoutSeconds must cover both (checked in test/unit/infra-builds.test.ts).
 */
export const QUEUED_TIMEOUT_MINUTES = 60;
/** Installing the pinned tools, cloning or unpacking the source, building a kubeconfig. */
const SETUP_MARGIN_SECONDS = 10 * 60;

export interface BuildCompute {
  type: 'ARM_CONTAINER' | 'LINUX_CONTAINER';
  computeType: 'BUILD_GENERAL1_SMALL';
  image: string;
  privilegedMode: boolean;
  timeoutMinutes: number;
  vpc?: NonNullable<BuildConfig['vpc']>;
  /** Why this compute: printed in docs and test failures. */
  why: string;
}

export interface BuildspecInfo {
  /** File name without .yml: "helm-deploy". */
  name: string;
  /** Target kind or job: "helm", "build-image". */
  kind: string;
  needsDocker: boolean;
  /** env.variables.COCONUT_CODEBUILD_IMAGE of the buildspec, when it names its own image. */
  image?: string;
}

const minutes = (seconds: number) => Math.min(MAX_TIMEOUT_MINUTES, Math.max(MIN_TIMEOUT_MINUTES, Math.ceil(seconds / 60)));

/**
 * The longest a build of this kind may legitimately take, from the targets of coconut.yaml:
 * - helm: `helm upgrade --atomic --wait --timeout T` waits up to T, and when it fails the
 *   atomic rollback waits up to T again; so 2T plus setup, for the largest T of any helm target.
 * - copilot: `copilot svc deploy` waits for the CloudFormation update, which waits for ECS
 *   deployments (circuit breaker included); 60 minutes plus setup.
 * - ansible: playbooks have no timeout in coconut.yaml; 60 minutes plus setup.
 * - build-image: docker build and push; 60 minutes.
 */
export function buildTimeoutSeconds(spec: BuildspecInfo, config: CoconutConfig): number {
  if (spec.kind === 'helm') {
    const timeouts = config.services.flatMap((s) => (s.target.kind === 'helm' ? [s.target.timeout] : []));
    const longest = Math.max(300, ...timeouts);
    return 2 * longest + SETUP_MARGIN_SECONDS;
  }
  return 60 * 60 + (spec.kind === 'build-image' ? 0 : SETUP_MARGIN_SECONDS);
}

export function buildCompute(spec: BuildspecInfo, config: CoconutConfig): BuildCompute {
  const timeoutMinutes = minutes(buildTimeoutSeconds(spec, config));
  if (spec.needsDocker) {
    return {
      type: 'LINUX_CONTAINER',
      computeType: 'BUILD_GENERAL1_SMALL',
      image: spec.image ?? X86_IMAGE,
      privilegedMode: true,
      timeoutMinutes,
      // The image build talks to GitHub and the registry only: no VPC, so no NAT gateway needed.
      why: 'Docker needs privileged mode (EC2 only); the image is built for x86_64 hosts',
    };
  }
  const vpc = config.build?.vpc;
  const arm = (config.build?.architecture ?? 'arm64') === 'arm64';
  return {
    type: arm ? 'ARM_CONTAINER' : 'LINUX_CONTAINER',
    computeType: 'BUILD_GENERAL1_SMALL',
    image: spec.image ?? (arm ? ARM_IMAGE : X86_IMAGE),
    privilegedMode: false,
    timeoutMinutes,
    ...(vpc ? { vpc } : {}),
    why: `${spec.kind} waits up to ${timeoutMinutes} minutes${vpc ? ' and reaches private hosts through the VPC' : ''}: beyond Lambda compute's 15 minutes`,
  };
}
