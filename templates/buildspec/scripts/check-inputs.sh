#!/usr/bin/env bash
# Checks the build's inputs before any tool sees them. Every value that came from an event reaches
# a command only as an environment variable; this refuses anything outside the patterns Coconut
# planned with, so a crafted tag or name can never become an option, a path or shell text.
#
#   check-inputs.sh [NAME REGEX]...
#
# Always checks COCONUT_SERVICE, COCONUT_ENVIRONMENT, COCONUT_VERSION, COCONUT_DEPLOYMENT_ID and
# COCONUT_IMAGE_DIGEST (these targets deploy by digest; COCONUT_REQUIRE_DIGEST=0 waives it); then
# each extra NAME against its REGEX.
set -euo pipefail
# [a-z] means ASCII letters only in the C locale.
export LC_ALL=C

failed=0
check() {
  local name=$1 re=$2
  local value=${!name:-}
  if [[ ! $value =~ $re ]]; then
    printf '%s must match %s (got %q)\n' "$name" "$re" "$value" >&2
    failed=1
  fi
}

check COCONUT_SERVICE '^[a-z0-9][a-z0-9-]{0,62}$'
check COCONUT_ENVIRONMENT '^[a-z0-9][a-z0-9-]{0,62}$'
check COCONUT_VERSION '^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$'
check COCONUT_DEPLOYMENT_ID '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$'
# A rollback to a recorded target revision (helm rollback) needs no digest; everything else does.
if [[ ${COCONUT_REQUIRE_DIGEST:-1} == 1 && ! ${COCONUT_IMAGE_DIGEST:-} =~ ^sha256:[a-f0-9]{64}$ ]]; then
  printf 'COCONUT_IMAGE_DIGEST must match ^sha256:[a-f0-9]{64}$ (got %q): this target deploys images by digest, never by a mutable tag\n' \
    "${COCONUT_IMAGE_DIGEST:-}" >&2
  failed=1
fi
while [[ $# -ge 2 ]]; do
  check "$1" "$2"
  shift 2
done
exit "$failed"
