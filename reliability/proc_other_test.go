//go:build !linux

package reliability

import (
	"syscall"
	"testing"

	"github.com/firestore-sessions/sessions/internal/emulator"
)

type freezer struct{}

func newFreezer(t testing.TB, p *emulator.Process) *freezer {
	t.Skip("freezing the emulator needs Linux's /proc")
	return nil
}

func (f *freezer) freeze() error { return nil }
func (f *freezer) thaw() error   { return nil }
