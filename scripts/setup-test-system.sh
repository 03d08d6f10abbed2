#!/usr/bin/env bash
# Installs the system programs the tests use as independent tools: openssl
# (certificate checks), curl (HTTPS checks), iproute2 (network namespaces for
# test/e2e/network.test.ts), nginx (`nginx -t` over the compiled
# configurations; nginx-light where the archive has it), pebble (the ACME test
# server the lib/acme client is tested against), and chromium (renders /v1/docs
# in test/e2e/api-docs.test.ts, driven by playwright-core), qemu-user-static with
# libc6-arm64-cross (runs the linux-arm64 binary in test/e2e/arm64-agent.test.ts)
# systemd (systemd-analyze verify over the units `drover service install`
# writes) and socat (a PTY pair standing in for a board's serial console in
# lib/exporter's tests). Debian packages only.
set -euo pipefail
missing=()
command -v openssl >/dev/null || missing+=(openssl)
command -v curl >/dev/null || missing+=(curl)
# ip (iproute2) makes the second network namespace a joining agent runs in; in /usr/sbin too.
command -v ip >/dev/null || [ -x /usr/sbin/ip ] || [ -x /sbin/ip ] || missing+=(iproute2)
need_nginx=false
# nginx lives in /usr/sbin, which a non-root PATH may leave out.
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need_nginx=true
# Debian's pebble package ships /usr/bin/pebble and /usr/bin/pebble-challtestsrv.
{ command -v pebble >/dev/null && command -v pebble-challtestsrv >/dev/null; } || missing+=(pebble)
command -v chromium >/dev/null || missing+=(chromium)
command -v qemu-aarch64-static >/dev/null || missing+=(qemu-user-static)
[ -e /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 ] || missing+=(libc6-arm64-cross)
command -v systemd-analyze >/dev/null || missing+=(systemd)
command -v socat >/dev/null || missing+=(socat)
if [ ${#missing[@]} -gt 0 ] || $need_nginx; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  if $need_nginx; then
    policy=$(apt-cache policy nginx-light 2>/dev/null || true)
    if grep -q 'Candidate: [0-9]' <<<"$policy"; then
      missing+=(nginx-light)
    else
      missing+=(nginx)
    fi
  fi
  echo "installing test tools: ${missing[*]}" >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
