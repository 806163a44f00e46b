#!/usr/bin/env bash
# Prints the image name (registry host and repository, no tag) the build deploys by digest:
# COCONUT_IMAGE_NAME when the plan set it (GHCR, Docker Hub, or target.imageRepository), otherwise
# for ECR the registry of the account and region this build runs in.
set -euo pipefail
export LC_ALL=C

name=${COCONUT_IMAGE_NAME:-}
if [[ -z $name ]]; then
  if [[ ${COCONUT_IMAGE_REGISTRY:-} != ecr ]]; then
    echo "COCONUT_IMAGE_NAME is empty and COCONUT_IMAGE_REGISTRY is \"${COCONUT_IMAGE_REGISTRY:-}\": set target.imageRepository" >&2
    exit 1
  fi
  if ! command -v aws >/dev/null 2>&1; then
    echo "the ECR registry is derived with the AWS CLI, which is not on PATH: set target.imageRepository in coconut.yaml" >&2
    exit 1
  fi
  account=$(aws sts get-caller-identity --query Account --output text)
  region=${AWS_REGION:-${AWS_DEFAULT_REGION:-}}
  name="${account}.dkr.ecr.${region}.amazonaws.com/${COCONUT_IMAGE_REPOSITORY:-}"
fi
re='^[a-z0-9]+([.-][a-z0-9]+)*(:[0-9]{1,5})?(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)+$'
if [[ ! $name =~ $re ]]; then
  printf 'image name must match %s (got %q)\n' "$re" "$name" >&2
  exit 1
fi
printf '%s\n' "$name"
