#!/usr/bin/env bash
# CI's short form of the benchmarks: every micro-benchmark once and a 1 s
# load run per scenario, checking correctness only (no timing assertions),
# so that the benchmarks never rot. The full run is `go run ./cmd/report`.
set -euo pipefail
cd "$(dirname "$0")"
go test -count=1 -run . -bench . -benchtime=1x ./...
