"""The hosts one step of a rollout deploys (or a rollback returns), one per line.

Reads `ansible-inventory --list` (JSON) on stdin. The environment says which group
(COCONUT_ENVIRONMENT) and which share: the step covers the group's hosts, in inventory order, from
the first one past COCONUT_ROLLOUT_PREVIOUS_PERCENT up to COCONUT_ROLLOUT_PERCENT, each rounded up
so that the first step always has a host (10% of 4 hosts is 1). A rollback passes 0 as the previous
share: every host the steps so far reached. The printed names are data for `--limit @file`, never
shell text.
"""

import json
import math
import os
import re
import sys


def fail(message: str) -> None:
    print(f"ansible-batch: {message}", file=sys.stderr)
    sys.exit(2)


def percent(name: str, low: int, high: int) -> int:
    value = os.environ.get(name, "")
    if not re.fullmatch(r"[0-9]{1,3}", value) or not low <= int(value) <= high:
        fail(f"{name} must be a whole number from {low} to {high} (got {value!r})")
    return int(value)


def group_hosts(inventory: dict, group: str, seen: set) -> list:
    """The group's hosts, then its children's, in inventory order, each host once."""
    if group in seen:
        return []
    seen.add(group)
    entry = inventory.get(group) or {}
    hosts = list(entry.get("hosts", []))
    for child in entry.get("children", []):
        hosts.extend(group_hosts(inventory, child, seen))
    return list(dict.fromkeys(hosts))


def main() -> None:
    group = os.environ.get("COCONUT_ENVIRONMENT", "")
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,62}", group):
        fail(f"COCONUT_ENVIRONMENT must be an environment name (got {group!r})")
    upto = percent("COCONUT_ROLLOUT_PERCENT", 1, 100)
    after = percent("COCONUT_ROLLOUT_PREVIOUS_PERCENT", 0, 99)
    if after >= upto:
        fail(f"COCONUT_ROLLOUT_PREVIOUS_PERCENT ({after}) must be below COCONUT_ROLLOUT_PERCENT ({upto})")
    inventory = json.load(sys.stdin)
    if group not in inventory:
        fail(f"the inventory has no group {group!r} (groups: {', '.join(sorted(inventory))})")
    hosts = group_hosts(inventory, group, set())
    count = len(hosts)
    for host in hosts[math.ceil(after * count / 100) : math.ceil(upto * count / 100)]:
        print(host)


if __name__ == "__main__":
    main()
