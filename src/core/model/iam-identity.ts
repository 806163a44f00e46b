/**
 * Who an AWS IAM caller is, and whether an approver entry of coconut.yaml names them.
 *
 * Without an `auth:` section the HTTP API uses IAM authorization: API Gateway checks the SigV4
 * signature and hands the caller's ARN to the function (requestContext.authorizer.iam.userArn;
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-access-control-iam.html,
 * @types/aws-lambda APIGatewayEventRequestContextIAMAuthorizer). That ARN is one of
 *   arn:aws:iam::ACCOUNT:user/[PATH/]NAME                  an IAM user
 *   arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION         a role session (also IAM Identity Center)
 *   arn:aws:sts::ACCOUNT:federated-user/NAME               GetFederationToken
 *   arn:aws:iam::ACCOUNT:root                              the account's root user
 * (IAM User Guide, "IAM identifiers": https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html).
 *
 * Rules taken from IAM, not invented here:
 * - User and role names are unique within an account whatever their path, and "are not
 *   distinguished by case" (IAM API CreateUser / CreateRole, RoleName). So a name is compared
 *   without its path and ignoring case; the account and partition must be equal.
 * - An assumed-role ARN carries the role's name but not its path, so a role approver written
 *   with a path (arn:aws:iam::1:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_X) matches
 *   on its last segment.
 * - The session name is chosen by whoever calls sts:AssumeRole (STS API AssumeRole,
 *   RoleSessionName: "Your administrator might require that you specify your user name as the
 *   session name", via the sts:RoleSessionName condition key). IAM Identity Center sets the
 *   session name itself, to the signed-in user's name (as its roles' sessions show in
 *   CloudTrail; not found stated in AWS's reference pages). The session name is compared exactly
 *   (case included) where it is compared at all, and it is only as trustworthy as the role's
 *   trust policy makes it: see `sameIdentity`.
 *
 * No AWS SDK here: this is domain logic on strings (src/core imports nothing from AWS).
 */

export type IamPrincipal =
  | { kind: 'user'; partition: string; account: string; name: string }
  | { kind: 'role-session'; partition: string; account: string; role: string; session: string }
  | { kind: 'federated-user'; partition: string; account: string; name: string }
  | { kind: 'root'; partition: string; account: string };

/** An approver named by ARN in coconut.yaml. */
export type IamApprover =
  | { kind: 'user'; partition: string; account: string; name: string }
  /** Anyone who assumed this role, whatever their session name. */
  | { kind: 'role'; partition: string; account: string; role: string }
  /** Exactly one session name of a role (e.g. an IAM Identity Center user). */
  | { kind: 'role-session'; partition: string; account: string; role: string; session: string };

const PARTITION = 'aws(?:-[a-z]+)*';
const ACCOUNT = '\\d{12}';
/** IAM user/role names: [\w+=,.@-]{1,64} (IAM API CreateUser/CreateRole). */
const IAM_NAME = '[\\w+=,.@-]{1,64}';
/** Role session names: [\w+=,.@-]{2,64} (STS API AssumeRole, RoleSessionName). */
const SESSION = '[\\w+=,.@-]{2,64}';
/** A path: "/" or /segments/ of printable ASCII (IAM API, Path); no "*" (no wildcards here). */
const PATH = '(?:[\\x21-\\x29\\x2b-\\x7e]*/)?';

const USER_ARN = new RegExp(`^arn:(${PARTITION}):iam::(${ACCOUNT}):user/${PATH}(${IAM_NAME})$`);
const ROLE_ARN = new RegExp(`^arn:(${PARTITION}):iam::(${ACCOUNT}):role/${PATH}(${IAM_NAME})$`);
const SESSION_ARN = new RegExp(`^arn:(${PARTITION}):sts::(${ACCOUNT}):assumed-role/(${IAM_NAME})/(${SESSION})$`);
const FEDERATED_ARN = new RegExp(`^arn:(${PARTITION}):sts::(${ACCOUNT}):federated-user/(${IAM_NAME})$`);
const ROOT_ARN = new RegExp(`^arn:(${PARTITION}):iam::(${ACCOUNT}):root$`);

/** An IAM user ARN (path dropped): both a caller and an approver may be one. */
function userOf(arn: string): Extract<IamPrincipal, { kind: 'user' }> | undefined {
  const m = USER_ARN.exec(arn);
  return m ? { kind: 'user', partition: m[1] as string, account: m[2] as string, name: m[3] as string } : undefined;
}

/** One session of a role: both a caller and an approver may be one. */
function sessionOf(arn: string): Extract<IamPrincipal, { kind: 'role-session' }> | undefined {
  const m = SESSION_ARN.exec(arn);
  return m
    ? { kind: 'role-session', partition: m[1] as string, account: m[2] as string, role: m[3] as string, session: m[4] as string }
    : undefined;
}

/** The caller ARN API Gateway reports, or undefined when it is none of the known forms. */
export function parseCallerArn(arn: string): IamPrincipal | undefined {
  const known = userOf(arn) ?? sessionOf(arn);
  if (known) return known;
  let m = FEDERATED_ARN.exec(arn);
  if (m) return { kind: 'federated-user', partition: m[1] as string, account: m[2] as string, name: m[3] as string };
  m = ROOT_ARN.exec(arn);
  if (m) return { kind: 'root', partition: m[1] as string, account: m[2] as string };
  return undefined;
}

/**
 * The stable, comparable identity of a caller: the ARN without a user's path. For a role
 * session it keeps both the role and the session name (arn:…:assumed-role/ROLE/SESSION), so
 * the role ARN (what `role/…` approvers match) and the person (the session) are both in it.
 */
export function principalId(p: IamPrincipal): string {
  switch (p.kind) {
    case 'user':
      return `arn:${p.partition}:iam::${p.account}:user/${p.name}`;
    case 'role-session':
      return `arn:${p.partition}:sts::${p.account}:assumed-role/${p.role}/${p.session}`;
    case 'federated-user':
      return `arn:${p.partition}:sts::${p.account}:federated-user/${p.name}`;
    case 'root':
      return `arn:${p.partition}:iam::${p.account}:root`;
  }
}

/** The ARN of the role behind a role session (without its path, which the session ARN lacks). */
export function roleArnOf(p: IamPrincipal): string | undefined {
  return p.kind === 'role-session' ? `arn:${p.partition}:iam::${p.account}:role/${p.role}` : undefined;
}

/** Does this look like an ARN at all? (Then it must be a valid approver ARN, or an error.) */
export function looksLikeArn(value: string): boolean {
  return value.startsWith('arn:');
}

/**
 * An approver entry that is an ARN: the parsed approver, or why it cannot be one (the config
 * schema shows that message with the entry's path).
 */
export function parseApproverArn(value: string): IamApprover | { error: string } {
  const user = userOf(value);
  if (user) return user;
  const m = ROLE_ARN.exec(value);
  if (m) return { kind: 'role', partition: m[1] as string, account: m[2] as string, role: m[3] as string };
  const session = sessionOf(value);
  if (session) return session;
  const examples =
    'expected an IAM user ARN (arn:aws:iam::123456789012:user/alice), a role ARN meaning anyone who assumes it (arn:aws:iam::123456789012:role/deployers), or one session of a role (arn:aws:sts::123456789012:assumed-role/deployers/alice)';
  if (value.includes('*')) return { error: `wildcards are not supported in approver ARNs; ${examples}` };
  if (/^arn:[^:]*:iam::[^:]*:group\//.test(value)) {
    return {
      error: `IAM groups cannot be approvers (a signed request does not say which groups its caller is in): name the users, or a role they assume; ${examples}`,
    };
  }
  if (/^arn:[^:]*:(iam|sts)::(?!\d{12}:)/.test(value)) return { error: `the account must be 12 digits; ${examples}` };
  return { error: examples };
}

const sameName = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/** Does this approver entry name this caller? */
export function approverNames(approver: IamApprover, p: IamPrincipal): boolean {
  if (approver.partition !== p.partition || approver.account !== p.account) return false;
  switch (approver.kind) {
    case 'user':
      return p.kind === 'user' && sameName(approver.name, p.name);
    case 'role':
      return p.kind === 'role-session' && sameName(approver.role, p.role);
    case 'role-session':
      return p.kind === 'role-session' && sameName(approver.role, p.role) && approver.session === p.session;
  }
}

/**
 * Four eyes: are these two identities (each a principalId, or any other actor id) the same
 * caller? Users compare by account and name (no path, no case); role sessions by account,
 * role AND session name.
 *
 * Why the session name counts: people who share one role (an IAM Identity Center permission
 * set, a "deployers" role) are told apart only by it; comparing the role alone would forbid
 * every colleague in the same role from approving, which makes four eyes unusable with SSO.
 * The limit: outside IAM Identity Center the session name is whatever the caller passed to
 * sts:AssumeRole, so one person could trigger as session "alice" and approve as session
 * "bob". Where that matters, make the role's trust policy pin the session name to the
 * caller (condition `sts:RoleSessionName` = `${aws:username}`), use Identity Center, or give
 * people their own roles or users.
 */
export function sameIdentity(a: string, b: string): boolean {
  const pa = parseCallerArn(a);
  const pb = parseCallerArn(b);
  if (!pa || !pb) return a === b;
  if (pa.kind !== pb.kind || pa.partition !== pb.partition || pa.account !== pb.account) return false;
  if (pa.kind === 'role-session' && pb.kind === 'role-session') return sameName(pa.role, pb.role) && pa.session === pb.session;
  if ((pa.kind === 'user' && pb.kind === 'user') || (pa.kind === 'federated-user' && pb.kind === 'federated-user'))
    return sameName(pa.name, pb.name);
  return pa.kind === 'root';
}
