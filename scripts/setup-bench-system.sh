#!/usr/bin/env bash
# Installs what `npm run bench` needs beyond the test tools: etcd (Debian's
# etcd-server), the baseline the leases section (bench/leases.ts) measures
# Drover's grants and extensions against, on loopback in the same run.
# Debian packages only; the test suite does not need it.
set -euo pipefail
if ! command -v etcd >/dev/null; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  echo "installing bench tools: etcd-server" >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq etcd-server >/dev/null
fi
