// Package freeport finds TCP ports on 127.0.0.1 for the servers, emulators
// and dead addresses that the tests and benchmarks need.
package freeport

import (
	"fmt"
	"net"
	"testing"
)

// Get returns a TCP port on 127.0.0.1 that was free a moment ago.
func Get() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("picking a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// For returns a free port as Get does, and fails t when there is none.
func For(t testing.TB) int {
	t.Helper()
	port, err := Get()
	if err != nil {
		t.Fatal(err)
	}
	return port
}
