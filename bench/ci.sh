#!/usr/bin/env bash
# Every micro-benchmark once, checking that each contender really keeps its
# session (no timing assertions), so that the benchmarks never rot. The
# load suite's quick run (TestQuickSuite) is a test: the repository's test
# command runs it. The full run is `go run ./cmd/report`.
set -euo pipefail
cd "$(dirname "$0")"
go test -count=1 -run '^$' -bench . -benchtime=1x ./...
