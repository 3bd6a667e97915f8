package sessions

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
)

// lazyPage shows the session, and changes it on /login and /renew.
func lazyPage(t *testing.T) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := FromContext(r.Context())
		switch r.URL.Path {
		case "/login":
			if err := s.Set("user", "ada"); err != nil {
				t.Errorf("Set: %v", err)
			}
		case "/renew":
			if err := s.Renew(r.Context()); err != nil {
				t.Errorf("Renew: %v", err)
			}
		case "/late":
			fmt.Fprint(w, "answered first")
			if err := s.Set("user", "ada"); !errors.Is(err, ErrHeadersWritten) {
				t.Errorf("Set after the answer of a session not stored: %v, want ErrHeadersWritten", err)
			}
			return
		}
		u, _ := s.GetString("user")
		fmt.Fprintf(w, "%d views, id %t, user %q", s.Views(), s.ID() != "", u)
	})
}

// With Lazy, cookieless requests that change nothing cost no store call and
// leave no document; the first change stores the session and sends its
// cookie, and views count from there.
func TestLazySessions(t *testing.T) {
	run := func(t *testing.T, st Store, docs func() int) {
		counted := &hookStore{Store: st}
		h := newManager(t, counted, Config{Lazy: true}).Middleware(lazyPage(t))
		for range 50 {
			res := do(t, h, "GET", "/", "")
			if res.cookie != nil || res.body != `0 views, id false, user ""` {
				t.Fatalf("cookieless view: cookie %v, page %q", res.cookie, res.body)
			}
			if res.header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control = %q", res.header.Get("Cache-Control"))
			}
		}
		do(t, h, "GET", "/late", "")
		if n := counted.calls.Load(); n != 0 {
			t.Errorf("%d store calls for 51 requests that stored nothing", n)
		}
		if n := docs(); n != 0 {
			t.Errorf("%d sessions stored for requests that changed nothing", n)
		}

		v := &visitor{t: t, h: h}
		if res := v.get("/login"); res.cookie == nil || res.body != `1 views, id true, user "ada"` {
			t.Fatalf("first change: cookie %v, page %q", res.cookie, res.body)
		}
		if res := v.get("/"); res.body != `2 views, id true, user "ada"` {
			t.Errorf("next view: %q, want the stored session's second view", res.body)
		}
		if n := docs(); n != 1 {
			t.Errorf("%d sessions stored, want 1", n)
		}

		w := &visitor{t: t, h: h}
		if res := w.get("/renew"); res.cookie == nil {
			t.Fatal("Renew of a session not stored sent no cookie")
		}
		if res := w.get("/"); res.body != `2 views, id true, user ""` {
			t.Errorf("after Renew: %q", res.body)
		}
	}
	t.Run("memory", func(t *testing.T) {
		st := NewMemoryStore()
		run(t, st, st.Len)
	})
	t.Run("firestore", func(t *testing.T) {
		st, project := firestoreStore(t, FirestoreConfig{})
		run(t, st, func() int { return len(documents(t, project)) })
	})
}

// OnCreate's values show on a lazy session's pages and are stored with it
// when it is stored, but do not store it by themselves.
func TestLazySessionKeepsOnCreateValues(t *testing.T) {
	st := NewMemoryStore()
	h := newManager(t, st, Config{Lazy: true}).Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := FromContext(r.Context())
		if r.URL.Path == "/change" {
			_ = s.Set("k", 1)
		}
		g, _ := s.GetString("greeting")
		fmt.Fprint(w, g)
	}))
	if res := do(t, h, "GET", "/", ""); res.body == "" || st.Len() != 0 {
		t.Errorf("greeting %q, %d stored", res.body, st.Len())
	}
	v := &visitor{t: t, h: h}
	first := v.get("/change").body
	if again := v.get("/").body; again != first || st.Len() != 1 {
		t.Errorf("greeting %q then %q, %d stored", first, again, st.Len())
	}
}
