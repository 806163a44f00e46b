#!/usr/bin/env bash
# One step of a canary or linear rollout on the coconut-service chart (canary track + Gateway API
# HTTPRoute weights): the exact `helm upgrade --install` commands that helmStepCommands in
# src/core/pipeline/helm-rollout.ts gives for the same step (test/unit/helm-rollout.test.ts runs both and
# compares them). Each command is printed before it runs; each must succeed before the next.
#
# Inputs: as helm-upgrade.sh (COCONUT_HELM_*, COCONUT_IMAGE_NAME, COCONUT_DEPLOYMENT_ID), plus
#   COCONUT_ACTION                    deploy: one traffic step; rollback: the abort (canary weight 0, then removed)
#   COCONUT_ROLLOUT_PERCENT           deploy: the step's cumulative percent to the new version, 1..100
#   COCONUT_ROLLOUT_PREVIOUS_PERCENT  deploy, step 100 only: the percent of the step before (the canary keeps
#                                     it while the stable Deployment takes the new image)
#   COCONUT_IMAGE_DIGEST, COCONUT_VERSION  deploy: the new version, on the canary track until promoted
#   COCONUT_CANARY_IMAGE_DIGEST, COCONUT_CANARY_VERSION  rollback: the version the rollout was bringing in,
#                                     still on the canary track until the abort removes it
#   COCONUT_CANARY_LIVE               rollback: true when a canary track serves requests (its weight goes to 0
#                                     before it is removed); false: it is only removed
#   COCONUT_STABLE_IMAGE_NAME, COCONUT_STABLE_IMAGE_DIGEST, COCONUT_STABLE_VERSION  the known-good image of
#                                     the stable track (an empty name: the service's, COCONUT_IMAGE_NAME)
# The plan sets them all (src/core/triggers/plan.ts stableVariables, rolloutRollbackEnvironment).
set -euo pipefail
export LC_ALL=C

fail() {
  printf '%s\n' "$1" >&2
  exit 1
}
expect() {
  local name=$1 re=$2
  [[ ${!name:-} =~ $re ]] || fail "$name must match $re (got $(printf '%q' "${!name:-}"))"
}
image_re='^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]{1,5})?(/[a-z0-9]+([._-]+[a-z0-9]+)*)*$'
digest_re='^sha256:[a-f0-9]{64}$'
version_re='^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$'
COCONUT_STABLE_IMAGE_NAME=${COCONUT_STABLE_IMAGE_NAME:-${COCONUT_IMAGE_NAME:-}}
expect COCONUT_ACTION '^(deploy|rollback)$'
expect COCONUT_IMAGE_NAME "$image_re"
expect COCONUT_STABLE_IMAGE_NAME "$image_re"
expect COCONUT_STABLE_IMAGE_DIGEST "$digest_re"
expect COCONUT_STABLE_VERSION "$version_re"
if [[ $COCONUT_ACTION == rollback ]]; then
  step=abort
  expect COCONUT_CANARY_LIVE '^(true|false)$'
  expect COCONUT_CANARY_IMAGE_DIGEST "$digest_re"
  expect COCONUT_CANARY_VERSION "$version_re"
  canary_digest=$COCONUT_CANARY_IMAGE_DIGEST
  canary_version=$COCONUT_CANARY_VERSION
else
  expect COCONUT_ROLLOUT_PERCENT '^([1-9][0-9]?|100)$'
  expect COCONUT_IMAGE_DIGEST "$digest_re"
  expect COCONUT_VERSION "$version_re"
  step=$COCONUT_ROLLOUT_PERCENT
  canary_digest=$COCONUT_IMAGE_DIGEST
  canary_version=$COCONUT_VERSION
fi

values=()
if [[ -n ${COCONUT_HELM_VALUES_FILES:-} ]]; then
  IFS=',' read -r -a files <<<"$COCONUT_HELM_VALUES_FILES"
  for file in "${files[@]}"; do values+=(--values "$file"); done
fi
secrets=()
if [[ -n ${COCONUT_HELM_IMAGE_PULL_SECRETS:-} ]]; then
  secrets=(--set "imagePullSecrets={${COCONUT_HELM_IMAGE_PULL_SECRETS}}")
fi

# upgrade DESCRIPTION IMAGE_NAME IMAGE_DIGEST IMAGE_TAG [canary values...]
upgrade() {
  local cmd=(
    helm upgrade --install "${COCONUT_HELM_RELEASE:?}" "${COCONUT_HELM_CHART:?}"
    --namespace "${COCONUT_HELM_NAMESPACE:?}"
    --atomic --wait --timeout "${COCONUT_HELM_TIMEOUT:?}"
    --history-max 20
    --description "coconut $1 ${canary_version} (${COCONUT_DEPLOYMENT_ID:?})"
    # Values files first, so the images and weights Coconut sets always win over what they say.
    "${values[@]}"
    --set-string "image.repository=$2"
    --set-string "image.digest=$3"
    --set-string "image.tag=$4"
    "${@:5}"
    "${secrets[@]}"
  )
  printf '+'
  printf ' %q' "${cmd[@]}"
  printf '\n'
  "${cmd[@]}"
}
canary_on() {
  printf '%s\n' --set canary.enabled=true \
    --set-string "canary.image.repository=$COCONUT_IMAGE_NAME" \
    --set-string "canary.image.digest=$canary_digest" \
    --set-string "canary.image.tag=$canary_version" \
    --set "canary.weight=$1"
}
canary_off=(--set canary.enabled=false --set canary.weight=0)
stable=("$COCONUT_STABLE_IMAGE_NAME" "$COCONUT_STABLE_IMAGE_DIGEST" "$COCONUT_STABLE_VERSION")
new=("$COCONUT_IMAGE_NAME" "$canary_digest" "$canary_version")

if [[ $step == abort ]]; then
  if [[ $COCONUT_CANARY_LIVE == true ]]; then
    mapfile -t track < <(canary_on 0)
    upgrade 'abort: canary weight 0' "${stable[@]}" "${track[@]}"
  else
    echo "no canary serves requests: nothing to turn to weight 0 first"
  fi
  upgrade 'abort: canary removed' "${stable[@]}" "${canary_off[@]}"
elif [[ $step != 100 ]]; then
  mapfile -t track < <(canary_on "$step")
  upgrade "canary ${step}%" "${stable[@]}" "${track[@]}"
else
  expect COCONUT_ROLLOUT_PREVIOUS_PERCENT '^[1-9][0-9]?$'
  mapfile -t track < <(canary_on "$COCONUT_ROLLOUT_PREVIOUS_PERCENT")
  upgrade 'promoting: stable takes the new image' "${new[@]}" "${track[@]}"
  upgrade 'promoted: canary removed' "${new[@]}" "${canary_off[@]}"
fi
