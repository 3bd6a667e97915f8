package sessions_test

import (
	"context"
	"testing"

	"github.com/firestore-sessions/sessions"
	"github.com/firestore-sessions/sessions/internal/emulator"
	"github.com/firestore-sessions/sessions/sessionstest"
)

func TestMemoryStoreContract(t *testing.T) {
	sessionstest.TestStore(t, func(t *testing.T) sessions.Store { return sessions.NewMemoryStore() })
}

func TestFirestoreStoreContract(t *testing.T) {
	for name, cfg := range map[string]sessions.FirestoreConfig{
		"cached":   {},
		"uncached": {CacheSize: -1}, // every visit reads first
	} {
		t.Run(name, func(t *testing.T) {
			sessionstest.TestStore(t, func(t *testing.T) sessions.Store {
				emulator.Require(t)
				st, err := sessions.OpenFirestore(context.Background(), emulator.ProjectID(t), cfg)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { st.Close() })
				return st
			})
		})
	}
}
