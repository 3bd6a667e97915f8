//go:build !linux

package load

import (
	"errors"
	"time"
)

func processCPU(int) (time.Duration, error) {
	return 0, errors.New("process CPU time: unsupported operating system")
}

// GroupCPU returns the CPU time used by process group pgid (unsupported
// here).
func GroupCPU(int) (time.Duration, error) {
	return 0, errors.New("process CPU time: unsupported operating system")
}
