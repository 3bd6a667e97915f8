package sessions

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

// endsPage logs in as ?o= on /login, logs out the other devices on
// /others, everywhere on /all, and shows the session and why the one the
// request came with ended, as JSON.
func endsPage(m *Manager) http.Handler {
	return m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := FromContext(r.Context())
		var err error
		ended := -1
		switch r.URL.Path {
		case "/login":
			err = s.Login(r.Context(), r.FormValue("o"), Lifetime{})
		case "/others":
			ended, err = s.DestroyOthers(r.Context())
		case "/all":
			ended, err = m.DestroyOwnerSessions(r.Context(), s.Owner())
		}
		json.NewEncoder(w).Encode(map[string]any{
			"new": s.IsNew(), "owner": s.Owner(), "why": s.PreviousEnd(), "ended": ended, "err": errText(err),
		})
	}))
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

type endsAnswer struct {
	New   bool
	Owner string
	Why   EndReason
	Ended int
	Err   string
}

func endsGet(t *testing.T, h http.Handler, path, id string) (endsAnswer, response) {
	t.Helper()
	cookie := ""
	if id != "" {
		cookie = cookieOf(id)
	}
	res := do(t, h, http.MethodGet, path, cookie)
	var a endsAnswer
	if err := json.Unmarshal([]byte(res.body), &a); err != nil {
		t.Fatalf("%s: %d %q: %v", path, res.code, res.body, err)
	}
	return a, res
}

// login signs a new visitor in as owner through h and returns the id.
func login(t *testing.T, h http.Handler, owner string) string {
	t.Helper()
	_, res := endsGet(t, h, "/", "")
	a, res2 := endsGet(t, h, "/login?o="+owner, res.cookie.Value)
	if a.Err != "" || res2.cookie == nil {
		t.Fatalf("login: %+v", a)
	}
	return res2.cookie.Value
}

// DestroyOthers logs out the owner's other devices in one call and keeps
// the current one; the devices logged out are told why on their next
// request, from any instance.
func TestDestroyOthersAndWhyEnded(t *testing.T) {
	eachFleet(t, 2, func(t *testing.T, stores []Store) {
		ms := managers(t, stores, Config{})
		a, b := endsPage(ms[0]), endsPage(ms[1])
		phone, laptop, tablet := login(t, a, "ada"), login(t, b, "ada"), login(t, a, "ada")
		other := login(t, b, "grace")
		got, _ := endsGet(t, b, "/others", laptop)
		if got.Err != "" || got.Ended != 2 {
			t.Fatalf("DestroyOthers: %+v, want 2 ended", got)
		}
		for name, id := range map[string]string{"phone": phone, "tablet": tablet} {
			for i, h := range []http.Handler{a, b} {
				if got, _ := endsGet(t, h, "/", id); !got.New || got.Why != EndedByLogout || got.Owner != "" {
					t.Errorf("%s on instance %d: %+v, want a new session told it was logged out", name, i, got)
				}
			}
		}
		if got, _ := endsGet(t, a, "/", laptop); got.New || got.Owner != "ada" || got.Why != "" {
			t.Errorf("the device that logged out the others: %+v, want it kept", got)
		}
		if got, _ := endsGet(t, a, "/", other); got.New || got.Owner != "grace" {
			t.Errorf("another owner's session: %+v, want it kept", got)
		}
		// A session that nothing ended has no reason.
		if got, _ := endsGet(t, a, "/", newID()); !got.New || got.Why != "" {
			t.Errorf("an unknown id: %+v, want a new session with no reason", got)
		}
	})
}

// A session ended by the cap of sessions per owner is told so on its next
// request; one that ended by its idle timeout is not.
func TestWhyEndedByTheCap(t *testing.T) {
	eachFleet(t, 2, func(t *testing.T, stores []Store) {
		clock := newTestClock()
		ms := managers(t, stores, Config{MaxOwnerSessions: 1, Lifetime: Lifetime{Idle: time.Hour}, Clock: clock.now})
		a, b := endsPage(ms[0]), endsPage(ms[1])
		first := login(t, a, "ada")
		clock.add(time.Minute)
		second := login(t, b, "ada")
		if got, _ := endsGet(t, b, "/", first); !got.New || got.Why != EndedByLimit {
			t.Errorf("the first device after the second's login: %+v, want a new session told the cap ended it", got)
		}
		clock.add(2 * time.Hour)
		if got, _ := endsGet(t, a, "/", second); !got.New || got.Why != "" {
			t.Errorf("a session past its idle timeout: %+v, want a new session with no reason", got)
		}
	})
}
