#!/usr/bin/env bash
# Builds docker/Dockerfile's images with podman and runs them as users would
# (tests/container/test_images.py). Usage: scripts/test-containers.sh [--short]
#   --short   the proxy image only: the form CI runs; without it loadgen's image too
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
exec python3 tests/container/test_images.py "$@"
