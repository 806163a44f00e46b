#!/usr/bin/env bash
# Makes a pinned deploy tool available and prints nothing but what it did (on stderr).
#
#   ensure-tool.sh helm|copilot DIR
#
# The tool already on PATH is used when it reports exactly the pinned version (a build image
# that ships it, or a developer's machine). Otherwise the pinned release is downloaded into DIR
# and its sha256 is checked against the published value before it is ever executed; a mismatch
# stops the build. The caller puts DIR first on PATH. Pins and checksums come from the
# environment (the buildspec's env.variables): HELM_VERSION, HELM_SHA256_LINUX_AMD64,
# HELM_SHA256_LINUX_ARM64, COPILOT_VERSION, COPILOT_SHA256_LINUX_AMD64, COPILOT_SHA256_LINUX_ARM64.
# HELM_DOWNLOAD_URL / COPILOT_DOWNLOAD_URL replace the official URL (a mirror); the checksum
# still applies.
set -euo pipefail

tool=${1:?usage: ensure-tool.sh helm|copilot DIR}
dir=${2:?usage: ensure-tool.sh helm|copilot DIR}

case "$(uname -m)" in
  x86_64 | amd64) arch=amd64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *)
    echo "ensure-tool: unsupported machine $(uname -m): expected x86_64 or aarch64" >&2
    exit 1
    ;;
esac

case $tool in
  helm)
    version=${HELM_VERSION:?HELM_VERSION is not set}
    checksum_var="HELM_SHA256_LINUX_${arch^^}"
    url=${HELM_DOWNLOAD_URL:-"https://get.helm.sh/helm-${version}-linux-${arch}.tar.gz"}
    ;;
  copilot)
    version=${COPILOT_VERSION:?COPILOT_VERSION is not set}
    checksum_var="COPILOT_SHA256_LINUX_${arch^^}"
    url=${COPILOT_DOWNLOAD_URL:-"https://github.com/aws/copilot-cli/releases/download/${version}/copilot-linux-${arch}-${version}"}
    ;;
  *)
    echo "ensure-tool: unknown tool \"$tool\": expected helm or copilot" >&2
    exit 1
    ;;
esac

# What the tool says its version is: "v3.19.0" for helm, "copilot version: v1.34.1" for copilot.
reported_version() {
  case $tool in
    helm) "$1" version --template '{{.Version}}' 2>/dev/null || true ;;
    copilot) "$1" --version 2>/dev/null | sed -n 's/^copilot version: //p' || true ;;
  esac
}

if found=$(command -v "$tool"); then
  reported=$(reported_version "$found")
  if [[ $reported == "$version" ]]; then
    echo "ensure-tool: using $tool $version from PATH ($found)" >&2
    exit 0
  fi
  echo "ensure-tool: $found reports \"$reported\", not the pinned $version: installing the pinned release" >&2
fi

expected=${!checksum_var:-}
if [[ ! $expected =~ ^[0-9a-f]{64}$ ]]; then
  echo "ensure-tool: $checksum_var must be the published sha256 of $url (got \"$expected\")" >&2
  exit 1
fi

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
if ! curl -fsSL --proto '=https,file' --retry 3 --max-time 300 -o "$scratch/download" "$url"; then
  echo "ensure-tool: could not download $url (no network? put $tool $version on PATH instead)" >&2
  exit 1
fi
actual=$(sha256sum "$scratch/download" | cut -d' ' -f1)
if [[ $actual != "$expected" ]]; then
  echo "ensure-tool: checksum mismatch for $url: expected $expected, got $actual; refusing to use it" >&2
  exit 1
fi

mkdir -p "$dir"
case $tool in
  helm)
    tar -xzf "$scratch/download" -C "$scratch" "linux-${arch}/helm"
    install -m 0755 "$scratch/linux-${arch}/helm" "$dir/helm"
    ;;
  copilot)
    install -m 0755 "$scratch/download" "$dir/copilot"
    ;;
esac

reported=$(reported_version "$dir/$tool")
if [[ $reported != "$version" ]]; then
  echo "ensure-tool: the verified download reports \"$reported\", not $version" >&2
  exit 1
fi
echo "ensure-tool: installed $tool $version (sha256 $expected verified) in $dir" >&2
