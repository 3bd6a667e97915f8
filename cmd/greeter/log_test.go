package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// On Google Cloud, log lines are JSON with Cloud Logging's field names.
func TestCloudLogging(t *testing.T) {
	var buf strings.Builder
	logger := newLogger(&buf, true)
	logger.Info("listening", "addr", ":8080")
	logger.Warn("slow")
	logger.Error("failed", "err", "boom")

	want := []struct{ severity, message string }{{"INFO", "listening"}, {"WARNING", "slow"}, {"ERROR", "failed"}}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(want), buf.String())
	}
	for i, line := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		if rec["severity"] != want[i].severity || rec["message"] != want[i].message {
			t.Errorf("line %q: want severity %q, message %q", line, want[i].severity, want[i].message)
		}
		if _, ok := rec["level"]; ok {
			t.Errorf("line %q has level", line)
		}
		if _, ok := rec["msg"]; ok {
			t.Errorf("line %q has msg", line)
		}
	}
	if !strings.Contains(lines[0], `"addr":":8080"`) || !strings.Contains(lines[2], `"err":"boom"`) {
		t.Errorf("attributes lost:\n%s", buf.String())
	}
}

func TestLocalLogging(t *testing.T) {
	var buf strings.Builder
	newLogger(&buf, false).Info("listening", "addr", ":8080")
	if line := buf.String(); !strings.Contains(line, "level=INFO msg=listening addr=:8080") {
		t.Errorf("local log line %q, want text", line)
	}
}
