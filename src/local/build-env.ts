/**
 * The environment a local build starts with. CodeBuild gives a build a fresh container, its
 * own CODEBUILD_* variables and the variables the project, buildspec and StartBuild name;
 * the local runner must not give it more. The runtime's own environment holds the Slack bot
 * token, webhook secrets and often AWS credentials, and everything a build gets, every app
 * that Ansible starts from it inherits. So only an allow-list of the runtime's variables is
 * passed on: what the tools need to find themselves, the user's configuration files and the
 * network, never a credential.
 *
 * Kept from the runtime's environment:
 * - PATH, HOME, USER, LOGNAME, SHELL, LANG, LC_*, TZ, TMPDIR, XDG_RUNTIME_DIR: where tools are,
 *   whose files (ansible's ~/.ansible, ssh keys in ~/.ssh, kube and docker configs), which locale
 *   (ansible refuses a non-UTF-8 one), where temporary files go, where rootless sockets live.
 * - KUBECONFIG, DOCKER_HOST, DOCKER_CONFIG, DOCKER_CONTEXT: which cluster and which engine a
 *   local helm or image build talks to; paths and addresses, not secrets.
 * - AWS_REGION, AWS_DEFAULT_REGION, AWS_PROFILE, AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE:
 *   a local helm/copilot/image build that calls `aws` uses the user's named profile. The
 *   credentials themselves (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, …)
 *   are NOT passed: the ECS target and the local store talk to AWS (or COCONUT_AWS_ENDPOINT)
 *   from the runtime process, not from a build, so no build needs them.
 * - HTTP_PROXY, HTTPS_PROXY, NO_PROXY (either case): without them no tool reaches the network
 *   behind a corporate proxy. They may carry proxy credentials the user gave every process.
 *
 * Not kept: SSH_AUTH_SOCK. The agent signs as the user for anyone holding the socket, and every
 * app Ansible starts locally would hold it. Ansible reaches localhost without SSH, and remote
 * hosts with the key files under HOME; a user whose keys live only in the agent names it in
 * COCONUT_BUILD_PASS_ENV (below), knowing what that gives the builds.
 *
 * COCONUT_BUILD_PASS_ENV="NAME,OTHER" adds names deliberately. Coconut's own secrets (SLACK_*,
 * COCONUT_*SECRET*, COCONUT_*TOKEN*) never pass, whatever it says.
 */

const KEEP = new Set([
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'LANG',
  'LANGUAGE',
  'TZ',
  'TMPDIR',
  'XDG_RUNTIME_DIR',
  'KUBECONFIG',
  'DOCKER_HOST',
  'DOCKER_CONFIG',
  'DOCKER_CONTEXT',
  'AWS_REGION',
  'AWS_DEFAULT_REGION',
  'AWS_PROFILE',
  'AWS_CONFIG_FILE',
  'AWS_SHARED_CREDENTIALS_FILE',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'http_proxy',
  'https_proxy',
  'no_proxy',
]);

/** Never passed to a build, even when COCONUT_BUILD_PASS_ENV names them. */
const NEVER = /^SLACK_|^COCONUT_.*(SECRET|TOKEN)/;

export const PASS_ENV_VARIABLE = 'COCONUT_BUILD_PASS_ENV';

/** The runtime's variables a build may see (see above). */
export function inheritedBuildEnv(runtimeEnv: NodeJS.ProcessEnv): Record<string, string> {
  const extra = new Set(
    (runtimeEnv[PASS_ENV_VARIABLE] ?? '').split(/[\s,]+/).filter((name) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(name)),
  );
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(runtimeEnv)) {
    if (value === undefined || NEVER.test(name)) continue;
    if (KEEP.has(name) || name.startsWith('LC_') || extra.has(name)) kept[name] = value;
  }
  return kept;
}

/**
 * A build's whole environment, lowest precedence first as in CodeBuild (buildspec, then the
 * StartBuild overrides the state machine passes), then the CODEBUILD_* variables the runner
 * defines as CodeBuild does.
 * https://docs.aws.amazon.com/codebuild/latest/userguide/build-env-ref-env-vars.html
 */
export function localBuildEnv(parts: {
  runtimeEnv: NodeJS.ProcessEnv;
  /** What the runtime gives every build (COCONUT_DATA_DIR, a test's PATH). */
  runner?: Record<string, string>;
  buildspec: Record<string, string>;
  overrides: Record<string, string>;
  codebuild: Record<string, string>;
}): Record<string, string> {
  return {
    ...inheritedBuildEnv(parts.runtimeEnv),
    ...parts.runner,
    ...parts.buildspec,
    ...parts.overrides,
    ...parts.codebuild,
  };
}
