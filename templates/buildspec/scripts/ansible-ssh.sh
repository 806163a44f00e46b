#!/usr/bin/env bash
# Gives an Ansible build SSH access to its hosts, from Secrets Manager, before ansible-playbook runs.
#
#   ansible-ssh.sh DIR
#
# DIR is a fresh private folder (mktemp -d: mode 0700). Inputs, all from the environment, each a
# NAME or a path, never key material (src/core/triggers/plan.ts sets them from the ansible target):
#   COCONUT_ANSIBLE_SSH_KEY_SECRET      secret whose text is the private key (target.sshKey)
#   COCONUT_ANSIBLE_KNOWN_HOSTS_SECRET  secret whose text is known_hosts lines (target.knownHosts.secret)
#   COCONUT_ANSIBLE_KNOWN_HOSTS_FILE    known_hosts file in the build source (target.knownHosts.file)
# Leaves in DIR:
#   known_hosts  the hosts' public keys (0600), for ssh's UserKnownHostsFile
#   agent.sock   an ssh-agent holding the key, and agent.pid its process id (only with a key)
#
# The private key goes from `aws secretsmanager get-secret-value` straight into `ssh-add -`
# through a pipe: it is never written to a file, never in a variable, never printed (no set -x
# here or in the buildspecs). Only its public fingerprint is printed. ssh, ssh-agent and ssh-add
# come from the CodeBuild images' openssh-clients package (test/fixtures/codebuild-images.ts).
set -euo pipefail
# [A-Za-z] means ASCII letters only in the C locale.
export LC_ALL=C

dir=${1:?usage: ansible-ssh.sh DIR}
key_secret=${COCONUT_ANSIBLE_SSH_KEY_SECRET:-}
hosts_secret=${COCONUT_ANSIBLE_KNOWN_HOSTS_SECRET:-}
hosts_file=${COCONUT_ANSIBLE_KNOWN_HOSTS_FILE:-}

fail() {
  printf 'ansible-ssh: %s\n' "$1" >&2
  exit 1
}

# Secrets Manager's name characters, never starting with "-" (it would read as an option).
secret_re='^[A-Za-z0-9/_+=.@][A-Za-z0-9/_+=.@-]{0,511}$'
for name in COCONUT_ANSIBLE_SSH_KEY_SECRET COCONUT_ANSIBLE_KNOWN_HOSTS_SECRET; do
  value=${!name:-}
  if [[ -n $value && ! $value =~ $secret_re ]]; then
    fail "$(printf '%s must be a Secrets Manager secret name matching %s (got %q)' "$name" "$secret_re" "$value")"
  fi
done
if [[ -n $hosts_file && ( $hosts_file == -* || $hosts_file == /* || $hosts_file =~ (^|/)\.\.(/|$) || ! -f $hosts_file ) ]]; then
  fail "$(printf 'COCONUT_ANSIBLE_KNOWN_HOSTS_FILE must be an existing file relative to the source root (got %q)' "$hosts_file")"
fi
if [[ -n $hosts_secret && -n $hosts_file ]]; then
  fail 'set COCONUT_ANSIBLE_KNOWN_HOSTS_SECRET or COCONUT_ANSIBLE_KNOWN_HOSTS_FILE, not both'
fi
if [[ -z $hosts_secret && -z $hosts_file ]]; then
  # Host keys are always checked; without known hosts every connection would be refused anyway.
  fail 'an SSH key needs the hosts'"'"' public keys: set target.knownHosts (a secret or a file) in coconut.yaml'
fi
if [[ ! -d $dir || -L $dir ]]; then
  fail "$(printf '%q is not a folder' "$dir")"
fi
# The path travels inside ANSIBLE_SSH_ARGS, which Ansible splits on spaces.
if [[ ! $dir =~ ^[A-Za-z0-9._/-]+$ ]]; then
  fail "$(printf 'the temporary folder %q has characters ssh options cannot carry: set TMPDIR to a plain path' "$dir")"
fi

umask 077
known_hosts=$dir/known_hosts
if [[ -n $hosts_secret ]]; then
  if ! aws secretsmanager get-secret-value --secret-id="$hosts_secret" --query SecretString --output text >"$known_hosts"; then
    fail "could not read the known_hosts secret $hosts_secret (does it exist in this account and Region? may this build's role read it?)"
  fi
  from="secret $hosts_secret"
else
  cp -- "$hosts_file" "$known_hosts"
  from="file $hosts_file"
fi
chmod 600 "$known_hosts"

# A known_hosts line is [marker] hostnames keytype key [comment]; count the lines with a key type
# ssh knows, so that an empty secret, or a private key pasted into the wrong one, stops here.
key_type_re='^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com|ssh-ed25519-cert-v01@openssh\.com)$'
host_keys=0
while read -r first second third _; do
  [[ -z $first || $first == \#* ]] && continue
  type=$second
  [[ $first == @* ]] && type=$third
  [[ $type =~ $key_type_re ]] && host_keys=$((host_keys + 1))
done <"$known_hosts"
if ((host_keys == 0)); then
  fail "the known_hosts $from holds no host key lines (\"HOST KEYTYPE KEY\", e.g. from ssh-keyscan, checked out-of-band)"
fi
echo "ansible-ssh: $host_keys host key(s) from $from; strict host key checking" >&2

if [[ -z $key_secret ]]; then
  exit 0
fi

agent_pid=
cleanup() {
  # A failed setup leaves no agent behind.
  if [[ -n $agent_pid && ! -f $dir/agent.pid ]]; then kill "$agent_pid" 2>/dev/null || true; fi
}
trap cleanup EXIT
agent_out=$(ssh-agent -s -a "$dir/agent.sock")
# The agent prints shell assignments; take the pid from them rather than eval-ing its output.
if [[ ! $agent_out =~ SSH_AGENT_PID=([0-9]+) ]]; then
  fail 'ssh-agent did not start'
fi
agent_pid=${BASH_REMATCH[1]}
export SSH_AUTH_SOCK=$dir/agent.sock
# A passphrase-protected key cannot be unlocked in a build: fail instead of waiting for a prompt.
export SSH_ASKPASS_REQUIRE=never
if ! aws secretsmanager get-secret-value --secret-id="$key_secret" --query SecretString --output text | ssh-add -q -; then
  fail "could not load the SSH key of secret $key_secret into ssh-agent (see above: does the secret exist, may this build's role read it, is it an OpenSSH or PEM private key without a passphrase?)"
fi
echo "$agent_pid" >"$dir/agent.pid"
echo "ansible-ssh: loaded into ssh-agent from secret $key_secret: $(ssh-add -l)" >&2
