#!/usr/bin/env bash
# The reliability fault suite in its short (CI) form: every case, with fewer
# requests and shorter loads than `go test ./... -full` (see ../RELIABILITY.md).
# .ci/run calls it from this directory; it exits non-zero when a case fails.
set -euo pipefail
cd "$(dirname "$0")"
go test -race -count=1 -timeout 15m -v ./...
