package reliability

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The race suite's checker, on hand-written histories: each invariant is
// reported where it is broken, and only there.

const (
	idA = "aaaaaaaa-0000-4000-8000-000000000000"
	idB = "bbbbbbbb-0000-4000-8000-000000000000"
	idC = "cccccccc-0000-4000-8000-000000000000"
	idD = "dddddddd-0000-4000-8000-000000000000"
	idE = "eeeeeeee-0000-4000-8000-000000000000"
	idF = "ffffffff-0000-4000-8000-000000000000"
)

// hb builds a history; times are in milliseconds of real time and seconds
// of the fake clock.
type hb struct{ calls []*call }

// req adds a call answered 200 by its handler, served on id.
func (h *hb) req(op string, eff effect, start, end int, fake int, sent, id string, views int64, seen map[string]string) *call {
	c := &call{N: len(h.calls) + 1, Op: op, Eff: eff, Start: ms(start), End: ms(end), FakeStart: sec(fake), FakeEnd: sec(fake),
		Sent: sent, Status: 200, Ran: true, ID: id, Views: views, Seen: seen, New: sent != id}
	if seen == nil {
		c.Seen = map[string]string{}
	}
	h.calls = append(h.calls, c)
	return c
}

func ms(n int) time.Duration  { return time.Duration(n) * time.Millisecond }
func sec(n int) time.Duration { return time.Duration(n) * time.Second }

func (h *hb) set(start, end, fake int, id string, views int64, seen map[string]string) *call {
	c := h.req("set", effSetShared, start, end, fake, id, id, views, seen)
	c.Value = "v" + itoa(c.N)
	return c
}

func itoa(n int) string { return strconv.Itoa(n) }

// renew adds a Renew of id to newID, answered 200.
func (h *hb) renew(start, end, fake int, id, newID string, views int64) *call {
	c := h.req("renew", effRenew, start, end, fake, id, id, views, nil)
	c.NewID, c.SetCookie = newID, newID
	return c
}

// life adds a SetLifetime of id, answered 200.
func (h *hb) life(start, end, fake int, id string, views int64, idle, max time.Duration) *call {
	c := h.req("setlifetime", effSetLifetime, start, end, fake, id, id, views, nil)
	c.Life = lifeIn{Idle: idle, Max: max}
	return c
}

// login adds a Login as owner of a new session (created by the same
// request) that moves it from id to newID, answered 200.
func (h *hb) login(start, end, fake int, id, newID, owner string) *call {
	c := h.req("login", effRenew|effSetOwner|effSetLifetime|effLogin, start, end, fake, "", id, 1, nil)
	c.Owner, c.NewID, c.SetCookie = owner, newID, newID
	return c
}

// owned adds a view of id that found it bound to owner.
func (h *hb) owned(start, end int, id string, views int64, owner string) *call {
	c := h.req("view", 0, start, end, 0, id, id, views, nil)
	c.SeenOwner = owner
	return c
}

func TestRaceChecker(t *testing.T) {
	m := model{Idle: time.Minute, Max: 10 * time.Minute, Grace: 20 * time.Second}
	capped := model{Idle: time.Minute, Max: 10 * time.Minute, Cap: 2}
	refusing := model{Idle: time.Minute, Max: 10 * time.Minute, Cap: 2, Refuse: true}
	cases := []struct {
		name  string
		build func(h *hb)
		want  []string // invariants reported, sorted; nil: none
	}{
		{"views in order", func(h *hb) {
			h.req("view", 0, 0, 10, 0, "", idA, 1, nil)
			h.req("view", 0, 20, 30, 0, idA, idA, 2, nil)
			h.req("view", 0, 25, 40, 0, idA, idA, 3, nil)
		}, nil},
		{"a view number twice", func(h *hb) {
			h.req("view", 0, 0, 10, 0, "", idA, 1, nil)
			h.req("view", 0, 20, 30, 0, idA, idA, 2, nil)
			h.req("view", 0, 25, 40, 0, idA, idA, 2, nil)
		}, []string{"1"}},
		{"a later view with a lower number", func(h *hb) {
			h.req("view", 0, 0, 10, 0, "", idA, 1, nil)
			h.req("view", 0, 20, 30, 0, idA, idA, 3, nil)
			h.req("view", 0, 40, 50, 0, idA, idA, 2, nil)
		}, []string{"1"}},
		{"served after Destroy", func(h *hb) {
			h.req("view", 0, 0, 10, 0, "", idA, 1, nil)
			h.req("destroy", effDestroy, 20, 30, 0, idA, idA, 2, nil)
			h.req("view", 0, 40, 50, 0, idA, idA, 3, nil)
		}, []string{"2"}},
		{"served while Destroy runs", func(h *hb) {
			h.req("view", 0, 0, 10, 0, "", idA, 1, nil)
			h.req("destroy", effDestroy, 20, 50, 0, idA, idA, 2, nil)
			h.req("view", 0, 40, 60, 0, idA, idA, 3, nil)
		}, nil},
		{"old id served within a rotation's grace", func(h *hb) {
			h.req("view", 0, 0, 10, 0, "", idA, 1, nil)
			r := h.req("view", 0, 20, 30, 50, idA, idB, 2, nil)
			r.New, r.SetCookie = false, idB
			h.req("view", 0, 40, 50, 60, idA, idA, 3, nil)
			h.req("view", 0, 60, 70, 60, idB, idB, 4, nil)
		}, nil},
		{"old id served after a rotation's grace", func(h *hb) {
			h.req("view", 0, 0, 10, 0, "", idA, 1, nil)
			r := h.req("view", 0, 20, 30, 50, idA, idB, 2, nil)
			r.New, r.SetCookie = false, idB
			h.req("view", 0, 40, 50, 75, idA, idA, 3, nil)
		}, []string{"2"}},
		{"old id given a new session after a rotation's grace", func(h *hb) {
			h.req("view", 0, 0, 10, 0, "", idA, 1, nil)
			r := h.req("view", 0, 20, 30, 50, idA, idB, 2, nil)
			r.New, r.SetCookie = false, idB
			h.req("view", 0, 40, 50, 75, idA, idC, 1, nil)
		}, nil},
		{"old id served after Renew", func(h *hb) {
			h.req("view", 0, 0, 10, 0, "", idA, 1, nil)
			r := h.req("renew", effRenew, 20, 30, 0, idA, idA, 2, nil)
			r.NewID, r.SetCookie = idB, idB
			h.req("view", 0, 40, 50, 0, idA, idA, 3, nil)
		}, []string{"2"}},
		{"served within the idle timeout", func(h *hb) {
			h.req("view", 0, 0, 10, 0, "", idA, 1, nil)
			h.req("view", 0, 20, 30, 59, idA, idA, 2, nil)
			h.req("view", 0, 40, 50, 118, idA, idA, 3, nil)
		}, nil},
		{"served after the idle expiry", func(h *hb) {
			h.req("view", 0, 0, 10, 0, "", idA, 1, nil)
			h.req("view", 0, 20, 30, 60, idA, idA, 2, nil)
		}, []string{"2"}},
		{"a failed view may have slid it", func(h *hb) {
			h.req("view", 0, 0, 10, 0, "", idA, 1, nil)
			f := h.req("view", 0, 20, 30, 50, idA, "", 0, nil)
			f.Status, f.Ran = 503, false
			h.req("view", 0, 40, 50, 100, idA, idA, 3, nil)
		}, nil},
		{"a longer idle timeout acknowledged", func(h *hb) {
			h.req("view", 0, 0, 10, 0, "", idA, 1, nil)
			l := h.req("setlifetime", effSetLifetime, 20, 30, 0, idA, idA, 2, nil)
			l.Life = lifeIn{Idle: 3 * time.Minute}
			h.req("view", 0, 40, 50, 170, idA, idA, 3, nil)
		}, nil},
		{"a shorter idle timeout acknowledged", func(h *hb) {
			h.req("view", 0, 0, 10, 0, "", idA, 1, nil)
			l := h.req("setlifetime", effSetLifetime, 20, 30, 0, idA, idA, 2, nil)
			l.Life = lifeIn{Idle: 30 * time.Second}
			h.req("view", 0, 40, 50, 40, idA, idA, 3, nil)
		}, []string{"2"}},
		{"served after the absolute deadline", func(h *hb) {
			h.req("view", 0, 0, 10, 0, "", idA, 1, nil)
			for i := 1; i <= 12; i++ {
				h.req("view", 0, 20*i, 20*i+10, 50*i, idA, idA, int64(i+1), nil)
			}
		}, []string{"2"}},
		{"ended early", func(h *hb) {
			h.req("view", 0, 0, 10, 0, "", idA, 1, nil)
			h.req("view", 0, 20, 30, 30, idA, idB, 1, nil)
		}, []string{"2"}},
		{"ended within the slack", func(h *hb) {
			h.req("view", 0, 0, 10, 0, "", idA, 1, nil)
			c := h.req("view", 0, 20, 30, 60, idA, idB, 1, nil)
			c.FakeStart, c.FakeEnd = sec(60)-slideSlack(time.Minute)/2, sec(60)-slideSlack(time.Minute)/2
		}, nil},
		{"ended early after a view that also set", func(h *hb) {
			h.req("view", 0, 0, 10, 0, "", idA, 1, nil)
			h.set(20, 30, 10, idA, 2, nil)
			h.req("view", 0, 40, 50, 61, idA, idB, 1, nil)
		}, []string{"2"}},
		{"ended while a view's slide was under way", func(h *hb) {
			h.req("view", 0, 0, 10, 0, "", idA, 1, nil)
			h.set(20, 30, 55, idA, 2, nil)
			h.req("view", 0, 22, 28, 60, idA, idC, 1, nil) // found it ended during the set
			h.req("view", 0, 40, 50, 61, idA, idB, 1, nil)
		}, nil},
		{"ended early though an earlier lifetime was shorter", func(h *hb) {
			h.req("view", 0, 0, 10, 0, "", idA, 1, nil)
			h.life(20, 30, 0, idA, 2, 30*time.Second, 0)
			h.req("view", 0, 40, 50, 10, idA, idA, 3, nil)
			h.req("view", 0, 60, 70, 41, idA, idB, 1, nil)
		}, nil},
		{"ended early though its lifetime was longer", func(h *hb) {
			h.req("view", 0, 0, 10, 0, "", idA, 1, nil)
			h.life(20, 30, 0, idA, 2, 3*time.Minute, 0)
			h.req("view", 0, 40, 50, 10, idA, idA, 3, nil)
			h.req("view", 0, 60, 70, 100, idA, idB, 1, nil)
		}, []string{"2"}},
		{"ended early after a login of its owner had answered", func(h *hb) {
			h.req("view", 0, 0, 10, 0, "", idA, 1, nil)
			o := h.req("setowner", effSetOwner, 12, 18, 0, idA, idA, 2, nil)
			o.Owner = "alice"
			h.login(12, 19, 0, idC, idD, "alice")
			h.set(20, 30, 10, idA, 3, nil)
			h.req("view", 0, 40, 50, 61, idA, idB, 1, nil)
		}, []string{"2"}},
		{"ended after a login of its owner elsewhere", func(h *hb) {
			h.req("view", 0, 0, 10, 0, "", idA, 1, nil)
			o := h.req("setowner", effSetOwner, 12, 18, 0, idA, idA, 2, nil)
			o.Owner = "alice"
			h.login(25, 35, 0, idC, idD, "alice") // the cap may have ended A
			h.set(20, 30, 10, idA, 3, nil)
			h.req("view", 0, 40, 50, 61, idA, idB, 1, nil)
		}, nil},
		{"destroyed session served under its renewed id", func(h *hb) {
			h.req("view", 0, 0, 10, 0, "", idA, 1, nil)
			h.renew(20, 40, 0, idA, idB, 2)
			h.req("destroy", effDestroy, 25, 35, 0, idA, idA, 3, nil)
			h.req("view", 0, 50, 60, 0, idB, idB, 4, nil)
		}, []string{"2"}},
		{"renewed id served before the Destroy answered", func(h *hb) {
			h.req("view", 0, 0, 10, 0, "", idA, 1, nil)
			h.renew(20, 30, 0, idA, idB, 2)
			h.req("destroy", effDestroy, 25, 40, 0, idA, idA, 3, nil)
			h.req("view", 0, 32, 38, 0, idB, idB, 4, nil)
		}, nil},
		{"served again after it was found ended", func(h *hb) {
			h.req("view", 0, 0, 10, 0, "", idA, 1, nil)
			h.life(20, 28, 50, idA, 2, 3*time.Minute, 0)
			h.req("view", 0, 30, 40, 61, idA, idB, 1, nil)
			h.req("view", 0, 70, 80, 61, idA, idA, 3, nil)
		}, []string{"2"}},
		{"served after a view that overlapped the one that found it ended", func(h *hb) {
			h.req("view", 0, 0, 10, 0, "", idA, 1, nil)
			h.req("view", 0, 30, 40, 61, idA, idB, 1, nil)
			h.req("view", 0, 32, 34, 50, idA, idA, 2, nil) // its slide may land after #2's finding
			h.req("view", 0, 50, 60, 70, idA, idA, 3, nil)
		}, nil},
		{"served while another request found it ended", func(h *hb) {
			h.req("view", 0, 0, 10, 0, "", idA, 1, nil)
			h.life(20, 60, 50, idA, 2, 3*time.Minute, 0)
			h.req("view", 0, 30, 40, 61, idA, idB, 1, nil)
			h.req("view", 0, 35, 45, 61, idA, idA, 3, nil)
		}, nil},
		{"served after SetLifetime put the deadline in the past", func(h *hb) {
			h.req("view", 0, 0, 10, 0, "", idA, 1, nil)
			h.life(20, 30, 0, idA, 2, 3*time.Minute, 0)
			h.req("view", 0, 40, 50, 170, idA, idA, 3, nil)
			h.life(60, 80, 300, idA, 4, 3*time.Minute, 4*time.Minute)
			h.life(62, 82, 300, idA, 5, 3*time.Minute, 30*time.Minute) // raced with it: must fail
			h.req("view", 0, 90, 100, 310, idA, idA, 6, nil)
		}, []string{"2"}},
		{"served after SetLifetime shortened the deadline, not past", func(h *hb) {
			h.req("view", 0, 0, 10, 0, "", idA, 1, nil)
			h.life(20, 30, 0, idA, 2, 3*time.Minute, 0)
			h.life(60, 80, 200, idA, 3, 3*time.Minute, 4*time.Minute)
			h.life(62, 82, 200, idA, 4, 3*time.Minute, 30*time.Minute)
			h.req("view", 0, 90, 100, 210, idA, idA, 5, nil)
		}, nil},
		{"view number twice across a Renew", func(h *hb) {
			h.req("view", 0, 0, 10, 0, "", idA, 1, nil)
			h.renew(20, 30, 0, idA, idB, 2)
			h.req("view", 0, 20, 25, 0, idA, idA, 3, nil) // in the Renew's batch
			h.req("view", 0, 40, 50, 0, idB, idB, 3, nil)
		}, []string{"1", "1"}},
		{"views go on across a Renew", func(h *hb) {
			h.req("view", 0, 0, 10, 0, "", idA, 1, nil)
			h.renew(20, 30, 0, idA, idB, 2)
			h.req("view", 0, 20, 25, 0, idA, idA, 3, nil)
			h.req("view", 0, 40, 50, 0, idB, idB, 4, nil)
		}, nil},
		{"an acknowledged set is seen", func(h *hb) {
			h.req("view", 0, 0, 10, 0, "", idA, 1, nil)
			h.set(20, 30, 0, idA, 2, nil) // #2: v2
			h.req("view", 0, 40, 50, 0, idA, idA, 3, map[string]string{sharedKey: "v2", "k2": "v2"})
		}, nil},
		{"an acknowledged set is not seen", func(h *hb) {
			h.req("view", 0, 0, 10, 0, "", idA, 1, nil)
			h.set(20, 30, 0, idA, 2, nil)
			h.req("view", 0, 40, 50, 0, idA, idA, 3, nil)
		}, []string{"3", "3"}},
		{"a concurrent set may or may not be seen", func(h *hb) {
			h.req("view", 0, 0, 10, 0, "", idA, 1, nil)
			h.set(20, 50, 0, idA, 2, nil)
			h.req("view", 0, 40, 60, 0, idA, idA, 3, nil)
			h.req("view", 0, 45, 60, 0, idA, idA, 4, map[string]string{sharedKey: "v2", "k2": "v2"})
		}, nil},
		{"a failed set may be seen, whole", func(h *hb) {
			h.req("view", 0, 0, 10, 0, "", idA, 1, nil)
			s := h.set(20, 30, 0, idA, 2, nil)
			s.Status = 503
			h.req("view", 0, 40, 50, 0, idA, idA, 3, map[string]string{sharedKey: "v2", "k2": "v2"})
			h.req("view", 0, 60, 70, 0, idA, idA, 4, map[string]string{sharedKey: "v2", "k2": "v2"})
		}, nil},
		{"half of a set", func(h *hb) {
			h.req("view", 0, 0, 10, 0, "", idA, 1, nil)
			s := h.set(20, 30, 0, idA, 2, nil)
			s.Status = 503
			h.req("view", 0, 40, 50, 0, idA, idA, 3, map[string]string{sharedKey: "v2"})
		}, []string{"3"}},
		{"a value never written", func(h *hb) {
			h.req("view", 0, 0, 10, 0, "", idA, 1, map[string]string{sharedKey: "v9"})
		}, []string{"3"}},
		{"a value of another session", func(h *hb) {
			h.req("view", 0, 0, 10, 0, "", idA, 1, nil)
			h.req("view", 0, 0, 10, 0, "", idB, 1, nil)
			h.set(20, 30, 0, idA, 2, nil) // #3: v3
			h.req("view", 0, 40, 50, 0, idB, idB, 2, map[string]string{sharedKey: "v3", "k3": "v3"})
		}, []string{"3", "3"}},
		{"a deleted value seen again", func(h *hb) {
			h.req("view", 0, 0, 10, 0, "", idA, 1, nil)
			h.set(20, 30, 0, idA, 2, nil)
			h.req("delete", effDelShared, 40, 50, 0, idA, idA, 3, map[string]string{sharedKey: "v2", "k2": "v2"})
			h.req("view", 0, 60, 70, 0, idA, idA, 4, map[string]string{sharedKey: "v2", "k2": "v2"})
		}, []string{"3"}},
		{"a set lost across a concurrent Renew", func(h *hb) {
			h.req("view", 0, 0, 10, 0, "", idA, 1, nil)
			r := h.req("renew", effRenew, 20, 60, 0, idA, idA, 2, nil)
			r.NewID, r.SetCookie = idB, idB
			h.set(25, 50, 0, idA, 3, nil) // #3, answered before the Renew
			h.req("view", 0, 70, 80, 0, idB, idB, 4, nil)
		}, []string{"3", "3"}},
		{"a value popped twice", func(h *hb) {
			h.req("view", 0, 0, 10, 0, "", idA, 1, nil)
			h.set(20, 30, 0, idA, 2, nil)
			seen := map[string]string{sharedKey: "v2", "k2": "v2"}
			p1 := h.req("pop", effPopShared, 40, 60, 0, idA, idA, 3, seen)
			p2 := h.req("pop", effPopShared, 41, 61, 0, idA, idA, 4, seen)
			p1.Popped, p1.PopOK, p2.Popped, p2.PopOK = "v2", true, "v2", true
		}, []string{"4"}},
		{"a value popped again after an increment", func(h *hb) {
			h.req("view", 0, 0, 10, 0, "", idA, 1, nil)
			h.set(20, 30, 0, idA, 2, nil)
			seen := map[string]string{sharedKey: "v2", "k2": "v2"}
			p1 := h.req("pop", effPopShared, 40, 50, 0, idA, idA, 3, seen)
			p2 := h.req("incrpop", effIncr|effPopShared, 40, 60, 0, idA, idA, 4, seen)
			p1.Popped, p1.PopOK, p2.Popped, p2.PopOK, p2.Delta, p2.Count = "v2", true, "v2", true, 1, 1
		}, []string{"4"}},
		{"an increment and a pop after another pop", func(h *hb) {
			h.req("view", 0, 0, 10, 0, "", idA, 1, nil)
			h.set(20, 30, 0, idA, 2, nil)
			seen := map[string]string{sharedKey: "v2", "k2": "v2"}
			p1 := h.req("pop", effPopShared, 40, 50, 0, idA, idA, 3, seen)
			p2 := h.req("incrpop", effIncr|effPopShared, 40, 60, 0, idA, idA, 4, seen)
			p1.Popped, p1.PopOK, p2.Delta, p2.Count = "v2", true, 1, 1
		}, nil},
		{"a popped value back after its set answered", func(h *hb) {
			h.req("view", 0, 0, 10, 0, "", idA, 1, nil)
			h.set(20, 60, 0, idA, 2, nil) // #2: v2, answered after the pop
			p := h.req("pop", effPopShared, 30, 40, 0, idA, idA, 3, map[string]string{sharedKey: "v2", "k2": "v2"})
			p.Popped, p.PopOK = "v2", true
			h.req("view", 0, 70, 80, 0, idA, idA, 4, map[string]string{sharedKey: "v2", "k2": "v2"})
		}, []string{"4"}},
		{"a popped value seen while the pop ran", func(h *hb) {
			h.req("view", 0, 0, 10, 0, "", idA, 1, nil)
			h.set(20, 60, 0, idA, 2, nil)
			p := h.req("pop", effPopShared, 30, 40, 0, idA, idA, 3, map[string]string{sharedKey: "v2", "k2": "v2"})
			p.Popped, p.PopOK = "v2", true
			h.req("view", 0, 35, 80, 0, idA, idA, 4, map[string]string{sharedKey: "v2", "k2": "v2"})
			h.req("view", 0, 70, 80, 0, idA, idA, 5, map[string]string{"k2": "v2"})
		}, nil},
		{"a counter within its bounds", func(h *hb) {
			h.req("view", 0, 0, 10, 0, "", idA, 1, nil)
			a := h.req("incr", effIncr, 20, 30, 0, idA, idA, 2, nil)
			b := h.req("incr", effIncr, 20, 30, 0, idA, idA, 3, nil)
			a.Delta, a.Count, b.Delta, b.Count, b.Status = 2, 2, 1, 3, 503
			h.req("view", 0, 40, 50, 0, idA, idA, 4, map[string]string{counterKey: "2"})
		}, nil},
		{"a counter beyond its bounds", func(h *hb) {
			h.req("view", 0, 0, 10, 0, "", idA, 1, nil)
			a := h.req("incr", effIncr, 20, 30, 0, idA, idA, 2, nil)
			a.Delta, a.Count = 2, 2
			h.req("view", 0, 40, 50, 0, idA, idA, 3, map[string]string{counterKey: "1"})
		}, []string{"4"}},
		{"increment over a string", func(h *hb) {
			h.req("view", 0, 0, 10, 0, "", idA, 1, nil)
			st := h.req("setstr", effSetCounter, 20, 30, 0, idA, idA, 2, nil)
			st.Value = "s2"
			in := h.req("incr", effIncr, 40, 50, 0, idA, idA, 3, map[string]string{counterKey: "s2"})
			in.Delta, in.Count = 1, 1
		}, []string{"6"}},
		{"increment racing with a string", func(h *hb) {
			h.req("view", 0, 0, 10, 0, "", idA, 1, nil)
			st := h.req("setstr", effSetCounter, 20, 30, 0, idA, idA, 2, nil)
			st.Value = "s2"
			in := h.req("incr", effIncr, 25, 35, 0, idA, idA, 3, nil)
			in.Delta, in.Count = 1, 1
			h.req("view", 0, 40, 50, 0, idA, idA, 4, map[string]string{counterKey: "s2"})
		}, nil},
		{"an integer where only a float could be", func(h *hb) {
			h.req("view", 0, 0, 10, 0, "", idA, 1, nil)
			st := h.req("setfloat", effSetCounter, 20, 30, 0, idA, idA, 2, nil)
			st.Value = "1.5"
			in := h.req("incr", effIncr, 25, 35, 0, idA, idA, 3, nil)
			in.Delta, in.Count = 1, 1
			h.req("view", 0, 40, 50, 0, idA, idA, 4, map[string]string{counterKey: "1"})
		}, []string{"6"}},
		{"a float changed by an increment", func(h *hb) {
			h.req("view", 0, 0, 10, 0, "", idA, 1, nil)
			st := h.req("setfloat", effSetCounter, 20, 30, 0, idA, idA, 2, nil)
			st.Value = "1.5"
			h.req("view", 0, 40, 50, 0, idA, idA, 3, map[string]string{counterKey: "2.5"})
		}, []string{"6"}},
		{"a counter value answered twice", func(h *hb) {
			h.req("view", 0, 0, 10, 0, "", idA, 1, nil)
			a := h.req("incr", effIncr, 20, 30, 0, idA, idA, 2, nil)
			b := h.req("incr", effIncr, 20, 30, 0, idA, idA, 3, nil)
			a.Delta, a.Count, b.Delta, b.Count = 1, 1, 1, 1
			h.req("view", 0, 40, 50, 0, idA, idA, 4, map[string]string{counterKey: "2"})
		}, []string{"4"}},
		{"flash messages added and taken once", func(h *hb) {
			h.req("view", 0, 0, 10, 0, "", idA, 1, nil)
			a := h.req("addflash", effAddFlash, 20, 30, 0, idA, idA, 2, nil)
			a.Value = "f2"
			f := h.req("flashes", effFlashes, 40, 50, 0, idA, idA, 3, map[string]string{flashKey: "[f2]"})
			f.Flashes = []string{"f2"}
			h.req("view", 0, 60, 70, 0, idA, idA, 4, nil)
		}, nil},
		{"a flash message taken twice", func(h *hb) {
			h.req("view", 0, 0, 10, 0, "", idA, 1, nil)
			a := h.req("addflash", effAddFlash, 20, 30, 0, idA, idA, 2, nil)
			a.Value = "f2"
			f := h.req("flashes", effFlashes, 40, 50, 0, idA, idA, 3, map[string]string{flashKey: "[f2]"})
			g := h.req("flashes", effFlashes, 41, 51, 0, idA, idA, 4, map[string]string{flashKey: "[f2]"})
			f.Flashes, g.Flashes = []string{"f2"}, []string{"f2"}
		}, []string{"4"}},
		{"a flash message lost", func(h *hb) {
			h.req("view", 0, 0, 10, 0, "", idA, 1, nil)
			a := h.req("addflash", effAddFlash, 20, 30, 0, idA, idA, 2, nil)
			b := h.req("addflash", effAddFlash, 21, 31, 0, idA, idA, 3, nil)
			a.Value, b.Value = "f2", "f3"
			h.req("view", 0, 40, 50, 0, idA, idA, 4, map[string]string{flashKey: "[f3]"})
		}, []string{"3"}},
		{"owner's session served after DestroyOwnerSessions", func(h *hb) {
			h.req("view", 0, 0, 10, 0, "", idA, 1, nil)
			o := h.req("setowner", effSetOwner, 20, 30, 0, idA, idA, 2, nil)
			o.Owner = "alice"
			d := h.req("destroyowner", effDestroyOwner, 40, 50, 0, "", "", 0, nil)
			d.Owner, d.Ran, d.ID = "alice", true, ""
			h.req("view", 0, 60, 70, 0, idA, idA, 3, nil)
		}, []string{"5"}},
		{"renewed owner's session served after DestroyOwnerSessions", func(h *hb) {
			h.req("view", 0, 0, 10, 0, "", idA, 1, nil)
			o := h.req("setowner", effSetOwner, 20, 30, 0, idA, idA, 2, nil)
			o.Owner = "alice"
			r := h.req("renew", effRenew, 35, 55, 0, idA, idA, 3, nil)
			r.NewID, r.SetCookie = idB, idB
			d := h.req("destroyowner", effDestroyOwner, 40, 50, 0, "", "", 0, nil)
			d.Owner, d.ID = "alice", ""
			h.req("view", 0, 60, 70, 0, idB, idB, 4, nil)
		}, []string{"5"}},
		{"more sessions than the cap after concurrent logins", func(h *hb) {
			h.login(0, 30, 0, idA, idB, "alice")
			h.login(5, 35, 0, idC, idD, "alice")
			h.login(10, 40, 0, idE, idF, "alice")
			h.owned(50, 60, idB, 2, "alice")
			h.owned(51, 61, idD, 2, "alice")
			h.owned(52, 62, idF, 2, "alice")
		}, []string{"7"}},
		{"a refused login keeps the cap", func(h *hb) {
			h.login(0, 30, 0, idA, idB, "alice")
			h.login(5, 35, 0, idC, idD, "alice")
			l := h.login(10, 40, 0, idE, "", "alice")
			l.Status, l.SetCookie, l.Err = 500, "", "sessions: too many sessions for this owner: 2 of 2"
			h.owned(50, 60, idB, 2, "alice")
			h.owned(51, 61, idD, 2, "alice")
			h.owned(52, 62, idE, 2, "")
		}, nil},
		{"a login refused without RefuseExtraLogins", func(h *hb) {
			l := h.login(10, 40, 0, idE, "", "alice")
			l.Status, l.SetCookie, l.Err = 500, "", "sessions: too many sessions for this owner: 2 of 2"
		}, []string{"7"}},
		{"a SetOwner after the login may pass the cap", func(h *hb) {
			h.login(0, 30, 0, idA, idB, "alice")
			h.login(5, 35, 0, idC, idD, "alice")
			h.req("view", 0, 0, 10, 0, "", idE, 1, nil)
			o := h.req("setowner", effSetOwner, 36, 45, 0, idE, idE, 2, nil)
			o.Owner = "alice"
			h.owned(50, 60, idB, 2, "alice")
			h.owned(51, 61, idD, 2, "alice")
			h.owned(52, 62, idE, 3, "alice")
		}, nil},
		{"owner changed during DestroyOwnerSessions", func(h *hb) {
			h.req("view", 0, 0, 10, 0, "", idA, 1, nil)
			o := h.req("setowner", effSetOwner, 20, 30, 0, idA, idA, 2, nil)
			o.Owner = "alice"
			o2 := h.req("setowner", effSetOwner, 35, 45, 0, idA, idA, 3, nil)
			o2.Owner = "bob"
			d := h.req("destroyowner", effDestroyOwner, 40, 50, 0, "", "", 0, nil)
			d.Owner, d.ID = "alice", ""
			h.req("view", 0, 60, 70, 0, idA, idA, 4, nil)
		}, nil},
	}
	// The cases of the cap run with one.
	models := map[string]model{
		"more sessions than the cap after concurrent logins":  capped,
		"a refused login keeps the cap":                       refusing,
		"a login refused without RefuseExtraLogins":           capped,
		"a SetOwner after the login may pass the cap":         capped,
		"ended early after a login of its owner had answered": capped,
		"ended after a login of its owner elsewhere":          capped,
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var h hb
			tc.build(&h)
			mm, ok := models[tc.name]
			if !ok {
				mm = m
			}
			vs, _ := checkHistory(mm, h.calls)
			var got []string
			for _, v := range vs {
				got = append(got, v.Inv)
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				var b strings.Builder
				for _, v := range vs {
					b.WriteString(v.String() + "\n")
				}
				t.Errorf("invariants reported %v, want %v:\n%s", got, tc.want, b.String())
			}
		})
	}
}
