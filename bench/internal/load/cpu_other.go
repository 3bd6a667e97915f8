//go:build !linux

package load

import (
	"errors"
	"time"
)

func processCPU(int) (time.Duration, error) {
	return 0, errors.New("process CPU time: unsupported operating system")
}
