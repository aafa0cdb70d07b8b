#!/usr/bin/env bash
# Installs the system parts the tests use when it can (root with apt-get, npm);
# otherwise says what is missing, and the tests that need it skip with the same message.
set -u
cd "$(dirname "$0")/.."

have_root_apt() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; }

if ! command -v chromium >/dev/null 2>&1; then
  if have_root_apt; then
    echo "installing Debian's chromium for the browser tests ..."
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null \
      || echo "could not install chromium; browser tests will be skipped"
  else
    echo "chromium is missing: browser tests will be skipped (install it: sudo apt-get install chromium)"
  fi
fi
if ! command -v bwrap >/dev/null 2>&1; then
  if have_root_apt; then
    echo "installing bubblewrap for the job sandbox ..."
    (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap || \
      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap)) >/dev/null \
      || echo "could not install bubblewrap; sandbox tests will be skipped"
  else
    echo "bubblewrap is missing: sandbox tests will be skipped (install it: sudo apt-get install bubblewrap)"
  fi
fi
if [ ! -x .tools/node_modules/.bin/azurite-blob ]; then
  if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
    echo "installing the Azurite storage emulator for the Azure Blob tests ..."
    npm install --no-audit --no-fund --prefix .tools azurite@3 >/dev/null 2>&1 \
      || echo "could not install azurite; Azure Blob tests will be skipped"
  else
    echo "node and npm are missing: Azure Blob tests will be skipped" \
      "(install nodejs and npm, then: npm install --no-audit --no-fund --prefix .tools azurite@3)"
  fi
fi
exit 0
