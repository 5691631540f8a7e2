#!/usr/bin/env bash
# Make sure a system program the tests need is installed: `tests/require.sh chromium-headless-shell`,
# `tests/require.sh postgres postgresql` (program, then the Debian package that has it).
# Installs it from Debian's packages when running as root with apt-get; otherwise stops with a clear
# message saying how to install it. Used by `make test` (and so by CI); never skips anything.
set -euo pipefail
program="$1"; package="${2:-$1}"
found() {
  command -v "$program" >/dev/null 2>&1 && return 0
  # Debian keeps PostgreSQL's server binaries off PATH, in /usr/lib/postgresql/<version>/bin.
  [ "$program" = postgres ] && compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null
}
if found; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "make test: installing $package from Debian's packages (needed by the tests)…"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "$package" >/dev/null
  found && exit 0
fi
# The browser tests take the headless shell first and the full Chromium (or HERDLAB_CHROMIUM)
# if that is what there is (tests/chromium.py): without root, either one will do.
if [ "$program" = chromium-headless-shell ]; then
  [ -n "${HERDLAB_CHROMIUM:-}" ] && exit 0
  command -v chromium >/dev/null 2>&1 && exit 0
fi
hint=""
[ "${program#chromium}" != "$program" ] && hint=" (or set HERDLAB_CHROMIUM to a Chromium binary)"
cat >&2 <<MSG
make test: '$program' is required by the test suite but is not installed.
Install it, for example on Debian or Ubuntu:
    sudo apt-get update && sudo apt-get install $package
then run 'make test' again$hint.
MSG
exit 1
