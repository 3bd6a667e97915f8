//go:build !unix

package emulator

import (
	"errors"
	"io"
	"syscall"
)

// The emulator is managed through Unix process groups; elsewhere Start
// reports ErrUnavailable.
const supported = false

const (
	sigTerm = syscall.Signal(15)
	sigKill = syscall.Signal(9)
)

var errUnsupported = errors.New("unsupported operating system")

func newGroupAttr() *syscall.SysProcAttr    { return nil }
func signalGroup(int, syscall.Signal) error { return errUnsupported }
func groupAlive(int) bool                   { return false }
func startWatchdog(int) (io.Closer, error)  { return nil, errUnsupported }
