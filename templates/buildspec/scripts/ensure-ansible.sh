#!/usr/bin/env bash
# Makes ansible-playbook available to an Ansible build and prints what it did (on stderr).
#
#   ensure-ansible.sh DIR
#
# The ansible-playbook already on PATH is used when there is one (a build image that ships Ansible,
# or a developer's machine). Otherwise ansible-core is installed into a virtualenv at DIR from
# templates/buildspec/requirements/ansible.txt: every package pinned, every wheel checked against
# its sha256 before pip unpacks it (--require-hashes), wheels only (nothing is built from source,
# so no unchecked build backend is fetched), no dependency resolution (--no-deps: the file lists
# them all). The CodeBuild images have no Ansible (aws-codebuild-docker-images), so on AWS this
# always installs. The caller puts DIR/bin first on PATH.
#
# COCONUT_ANSIBLE_REQUIREMENTS replaces the requirements file (a mirror's pins); PIP_INDEX_URL a
# mirror of PyPI; the hashes still apply.
set -euo pipefail

dir=${1:?usage: ensure-ansible.sh DIR}
requirements=${COCONUT_ANSIBLE_REQUIREMENTS:-templates/buildspec/requirements/ansible.txt}

if found=$(command -v ansible-playbook); then
  echo "ensure-ansible: using $found ($("$found" --version 2>/dev/null | sed -n 1p))" >&2
  exit 0
fi
if ! command -v python3 >/dev/null 2>&1; then
  echo "ensure-ansible: neither ansible-playbook nor python3 is on PATH: use a build image with Python 3.11+" >&2
  exit 1
fi
if [[ ! -f $requirements ]]; then
  echo "ensure-ansible: $requirements is missing from the build's source" >&2
  exit 1
fi

# --system-site-packages: the image's PyYAML (with libyaml) serves ansible-core; see the requirements file.
python3 -m venv --system-site-packages "$dir"
if ! "$dir/bin/python3" -m pip install --quiet --disable-pip-version-check --no-input \
  --require-hashes --no-deps --only-binary :all: -r "$requirements"; then
  echo "ensure-ansible: pip refused or could not fetch the pinned packages of $requirements (no network? a hash mismatch?)" >&2
  exit 1
fi
if [[ ! -x $dir/bin/ansible-playbook ]]; then
  echo "ensure-ansible: $dir/bin/ansible-playbook is missing after installing $requirements" >&2
  exit 1
fi
echo "ensure-ansible: installed $("$dir/bin/ansible-playbook" --version 2>/dev/null | sed -n 1p) from sha256-checked wheels ($requirements) in $dir" >&2
