#!/bin/sh
# Rebuilds the flow studio's vendored bundles from package-lock.json (needs node and npm;
# CI and ./dev never run this: the bundles are committed). See README.md.
set -eu
cd "$(dirname "$0")"
npm ci --no-audit --no-fund
node build.mjs
