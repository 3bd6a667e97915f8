package sessions

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// A session older than Config.RenewAfter gets a new id on its next
// request. Twenty requests that a page sends at once with the old id, over
// two instances, all succeed: the session is rotated once, every change is
// kept, and the old id works until the grace period ends, then never.
func TestRotationKeepsRequestsInFlight(t *testing.T) {
	eachFleet(t, 2, func(t *testing.T, stores []Store) {
		clock := newTestClock()
		const renew, grace = time.Hour, 30 * time.Second
		ms := managers(t, stores, Config{RenewAfter: renew, RenewGrace: grace, Clock: clock.now})
		hs := handlers(ms, scenPage)
		v := &visitor{t: t, h: hs[0]}
		v.get("/set?k=user&v=ada")
		old := v.id
		clock.add(renew)

		const n = 20
		answers := make([]response, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				<-start
				answers[i] = do(t, hs[i%2], http.MethodGet, fmt.Sprintf("/set?k=k%d&v=v%d", i, i), cookieOf(old))
			})
		}
		close(start)
		wg.Wait()
		renewed := map[string]bool{}
		for i, res := range answers {
			if p := parsePage(t, res); p.isNew || p.user != "ada" {
				t.Errorf("request %d: %+v, want the visitor's session", i, p)
			}
			if res.cookie != nil {
				renewed[res.cookie.Value] = true
			}
		}
		if len(renewed) != 1 || renewed[old] {
			t.Fatalf("new ids sent: %v, want one, not the old one", renewed)
		}
		var id string
		for id = range renewed {
		}
		if _, err := ms[1].Load(context.Background(), id); err != nil {
			t.Fatalf("the new id: %v", err)
		}
		s, err := ms[0].Load(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			if got, _ := s.GetString(fmt.Sprintf("k%d", i)); got != fmt.Sprintf("v%d", i) {
				t.Errorf("k%d = %q after the rotation, want v%d", i, got, i)
			}
		}
		// What the store keeps under the old id names the new one only by
		// its hash: no id that works as a cookie.
		rec, err := stores[0].Get(context.Background(), Handle(old))
		if err != nil || rec.MovedTo != Handle(id) || len(rec.Values) != 0 {
			t.Errorf("under the old id: %+v, %v; want only the new id's handle", rec, err)
		}
		if strings.Contains(fmt.Sprint(rec), id) {
			t.Errorf("the old id's record holds the new id: %+v", rec)
		}
		// Within the grace period, the old id still reaches the session.
		clock.add(grace - time.Second)
		if p := parsePage(t, do(t, hs[1], http.MethodGet, "/", cookieOf(old))); p.isNew || p.user != "ada" {
			t.Errorf("old id within the grace period: %+v, want the session", p)
		}
		// After it, the old id is dead on every instance; the new one lives.
		clock.add(2 * time.Second)
		for i, h := range hs {
			if p := parsePage(t, do(t, h, http.MethodGet, "/", cookieOf(old))); !p.isNew {
				t.Errorf("instance %d, old id after the grace period: %+v, want a new session", i, p)
			}
			if p := parsePage(t, do(t, h, http.MethodGet, "/", cookieOf(id))); p.isNew || p.user != "ada" {
				t.Errorf("instance %d, new id: %+v, want the session", i, p)
			}
		}
	})
}
