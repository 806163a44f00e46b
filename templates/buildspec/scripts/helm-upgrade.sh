#!/usr/bin/env bash
# helm upgrade --install of one release, atomically (a failed upgrade rolls itself back) and
# waiting until the workloads are ready. Used by helm-deploy.yml, and by helm-rollback.yml when no
# revision was recorded for the known-good version. Inputs are the checked COCONUT_* variables;
# the exact command line is printed before it runs.
set -euo pipefail

release=${COCONUT_HELM_RELEASE:?}
cmd=(
  helm upgrade --install "$release" "${COCONUT_HELM_CHART:?}"
  --namespace "${COCONUT_HELM_NAMESPACE:?}"
  --atomic --wait --timeout "${COCONUT_HELM_TIMEOUT:?}"
  --history-max 20
  --description "coconut ${COCONUT_ACTION:-deploy} ${COCONUT_VERSION:?} (${COCONUT_DEPLOYMENT_ID:?})"
)
# Values files first, so the image Coconut deploys always wins over whatever they say.
if [[ -n ${COCONUT_HELM_VALUES_FILES:-} ]]; then
  IFS=',' read -r -a files <<<"$COCONUT_HELM_VALUES_FILES"
  for file in "${files[@]}"; do cmd+=(--values "$file"); done
fi
cmd+=(
  --set-string "image.repository=${COCONUT_IMAGE_NAME:?}"
  --set-string "image.digest=${COCONUT_IMAGE_DIGEST:?}"
  --set-string "image.tag=${COCONUT_VERSION}"
)
if [[ -n ${COCONUT_HELM_IMAGE_PULL_SECRETS:-} ]]; then
  cmd+=(--set "imagePullSecrets={${COCONUT_HELM_IMAGE_PULL_SECRETS}}")
fi

printf '+'
printf ' %q' "${cmd[@]}"
printf '\n'
"${cmd[@]}"
