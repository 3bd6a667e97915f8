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

func TestRaceChecker(t *testing.T) {
	m := model{Idle: time.Minute, Max: 10 * time.Minute}
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
			h.req("view", 0, 70, 80, 0, idB, idB, 3, nil)
		}, []string{"3", "3"}},
		{"a value popped twice", func(h *hb) {
			h.req("view", 0, 0, 10, 0, "", idA, 1, nil)
			h.set(20, 30, 0, idA, 2, nil)
			seen := map[string]string{sharedKey: "v2", "k2": "v2"}
			p1 := h.req("pop", effPopShared, 40, 60, 0, idA, idA, 3, seen)
			p2 := h.req("pop", effPopShared, 41, 61, 0, idA, idA, 4, seen)
			p1.Popped, p1.PopOK, p2.Popped, p2.PopOK = "v2", true, "v2", true
		}, []string{"4"}},
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
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var h hb
			tc.build(&h)
			vs, _ := checkHistory(m, h.calls)
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
