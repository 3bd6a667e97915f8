package sessions

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestStatusCode(t *testing.T) {
	for _, c := range []struct {
		err  error
		want int
	}{
		{nil, 200},
		{ErrUnavailable, 503},
		{fmt.Errorf("sessions: save: %w: %w", errStoreTimeout, ErrUnavailable), 503},
		{ErrConflict, 503},
		{ErrInvalidKey, 400},
		{ErrInvalidOwner, 400},
		{ErrUnsupportedType, 400},
		{ErrTooLarge, 413},
		{ErrWrongType, 409},
		{ErrTooManySessions, 409},
		{ErrInactive, 409},
		{ErrNotFound, 404},
		{ErrHeadersWritten, 500},
		{ErrInvalidLifetime, 500},
		{errors.New("something else"), 500},
	} {
		if got := StatusCode(c.err); got != c.want {
			t.Errorf("StatusCode(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}

// Every error that a handler gets matches a sentinel: a store that does
// not answer in time inside the handler is ErrUnavailable, invalid owners
// and lifetimes have their own.
func TestHandlerErrorsMatchSentinels(t *testing.T) {
	st := &hookStore{Store: NewMemoryStore()}
	var hang bool
	st.commit = func(ctx context.Context, ms []Mutation, next func() ([]Record, error)) ([]Record, error) {
		if hang && !isView(ms) {
			<-ctx.Done()
			return nil, fmt.Errorf("%w: %w", ErrUnavailable, ctx.Err())
		}
		return next()
	}
	m := newManager(t, st, Config{Timeout: 100 * time.Millisecond})
	got := map[string]error{}
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := FromContext(r.Context())
		ctx := r.Context()
		got["long owner"] = s.Login(ctx, strings.Repeat("a", 2048), Lifetime{})
		got["invalid owner"] = s.SetOwner(ctx, "\xff")
		got["negative lifetime"] = s.SetLifetime(ctx, Lifetime{Idle: -time.Second})
		got["short lifetime"] = s.Login(ctx, "ada", Lifetime{Max: time.Millisecond})
		hang = true
		_, got["modify"] = Modify(ctx, s, "cart", func(c []string, _ bool) ([]string, error) { return append(c, "x"), nil })
		_, got["increment"] = s.Increment(ctx, "n", 1)
		got["login"] = s.Login(ctx, "ada", Lifetime{})
		hang = false
	}))
	v := &visitor{t: t, h: h}
	v.get("/")
	v.get("/")
	for name, want := range map[string]error{
		"long owner": ErrInvalidOwner, "invalid owner": ErrInvalidOwner,
		"negative lifetime": ErrInvalidLifetime, "short lifetime": ErrInvalidLifetime,
		"modify": ErrUnavailable, "increment": ErrUnavailable, "login": ErrUnavailable,
	} {
		if !errors.Is(got[name], want) {
			t.Errorf("%s: %v, want %v", name, got[name], want)
		}
	}
	if !errors.Is(got["modify"], context.DeadlineExceeded) {
		t.Errorf("modify: %v, want its cause, the deadline, too", got["modify"])
	}
	st.down.Store(true)
	if _, err := m.OwnerSessions(context.Background(), "ada"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("OwnerSessions while the store is down: %v, want ErrUnavailable", err)
	}
}
