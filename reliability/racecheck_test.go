package reliability

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// This file is the race suite's checker: it reads a recorded history of
// calls (racesuite_test.go) against a model of one session and reports
// every place where the history contradicts a promise of the library.
//
// The model knows only what the client saw: when a call started and ended
// (real time, and the fake clock), what it sent, and what it got back. A
// call whose answer was an error may or may not have taken effect; the
// checker allows both, never half of one.
//
// "A before B" always means A's answer arrived before B was sent
// (a.End < b.Start): only then is B obliged to see A.

// sharedKey is the value key that every set, delete and pop of the suite
// uses; each set also writes a key of its own, uniqueKey(call).
const sharedKey = "shared"

func uniqueKey(n int) string { return "k" + strconv.Itoa(n) }

// Sliding an idle expiry may be skipped when it would move the expiry by
// less than a slack (a fraction of the idle timeout, at most
// slideSlackMax), so that a hot session is not written on every view. The
// safety checks ignore it (a session must never be served at or after its
// last view + idle); the check that a session does not end early allows it.
const (
	slideSlackFraction = 100 // slack = idle / 100 ...
	slideSlackMax      = time.Minute
)

func slideSlack(idle time.Duration) time.Duration {
	return min(idle/slideSlackFraction, slideSlackMax)
}

// effect says what an operation may change, for the model: the operation
// table (racesuite_test.go) gives each operation its effects, so that an
// operation that combines them (a login: Renew + owner + lifetime) needs
// no checker code of its own.
type effect uint16

const (
	effSetShared    effect = 1 << iota // sets sharedKey and uniqueKey(N) to the call's Value
	effDelShared                       // deletes sharedKey
	effPopShared                       // pops sharedKey: returns it (Popped) and deletes it
	effRenew                           // moves the session to a new id (NewID)
	effSetOwner                        // binds the session to Owner
	effSetLifetime                     // gives the session Life
	effDestroy                         // ends the session
	effDestroyOwner                    // Manager.DestroyOwnerSessions(Owner), outside any session
	effStep                            // steps the fake clock by Step
	effIncr                            // adds Delta to the counter under counterKey, answers the new value (Count)
	effAddFlash                        // adds the flash message Value
	effFlashes                         // takes the flash messages (Flashes)
	effSetCounter                      // sets counterKey to Value, a string or a float: no longer an integer
	effLogin                           // Session.Login: its owner's sessions are capped (model.Cap)
)

// counterKey is the key of the suite's counter (effIncr); counterFloat is
// the float that effSetCounter may put there instead of an integer.
const (
	counterKey   = "counter"
	counterFloat = 1.5
)

// flashKey is where the library keeps flash messages ("flashes"):
// checked as flashes, not as a value.
const flashKey = "flashes"

// flashList parses a flash list as the handler shows it (fmt.Sprint of
// a []any of messages without spaces).
func flashList(v string) []string {
	return strings.Fields(strings.Trim(v, "[]"))
}

// lifeIn is a lifetime as SetLifetime is given it: 0 means the Manager's.
type lifeIn struct{ Idle, Max time.Duration }

// call is one request of a history, as the client saw it.
type call struct {
	N                         int // index in the history
	Worker, Instance, Visitor int
	Op                        string
	Eff                       effect

	Start, End         time.Duration // real time since the history began
	FakeStart, FakeEnd time.Duration // the shared fake clock, since its epoch

	Sent   string // session id sent in the cookie, "" for none
	Replay bool   // Sent is an earlier cookie of the visitor, replayed

	// Inputs.
	Value string // effSetShared: the value written
	Owner string // effSetOwner, effDestroyOwner
	Life  lifeIn // effSetLifetime
	Step  time.Duration
	Delta int64 // effIncr

	// The answer.
	Status    int               // HTTP status; 0: no answer
	Ran       bool              // the handler ran (its answer header is there)
	ID        string            // the session the handler was given
	New       bool              // ... created by this request
	Views     int64             // its view number
	Seen      map[string]string // its values as the handler found them
	Popped    string            // effPopShared: the value Pop returned
	PopOK     bool              // ... whether it returned one
	NewID     string            // effRenew: the id after Renew, "" if it failed
	SetCookie string            // the session cookie the answer set, "" for none
	Cleared   bool              // the answer expired the cookie
	Count     int64             // effDestroyOwner: sessions ended; effIncr: the new value
	Flashes   []string          // effFlashes: the messages taken
	SeenOwner string            // the session's owner as the handler found it
	Err       string            // the operation's error, as the handler saw it
}

func (c *call) acked() bool { return c.Status == 200 }

// mayHaveApplied reports whether the operation may have taken effect: its
// handler ran (an answer without one, a 503 of the middleware before the
// handler, had no operation in it).
func (c *call) mayHaveApplied() bool { return c.Ran }

func before(a, b *call) bool { return a.End < b.Start }

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	if id == "" {
		return "-"
	}
	return id
}

func fmtD(d time.Duration) string {
	return "+" + d.Round(time.Millisecond).String()
}

// String renders a call as one line of a history excerpt.
func (c *call) String() string {
	var b strings.Builder
	fake := fmtD(c.FakeStart)
	if c.FakeEnd > c.FakeStart && c.Eff&effStep == 0 {
		fake += "→" + fmtD(c.FakeEnd) // the clock moved while it ran
	}
	fmt.Fprintf(&b, "#%d w%d i%d v%d [%s → %s] fake %s: %s", c.N, c.Worker, c.Instance, c.Visitor, fmtD(c.Start), fmtD(c.End), fake, c.Op)
	switch {
	case c.Eff&effSetShared != 0:
		fmt.Fprintf(&b, " %s=%s,%s=%s", sharedKey, c.Value, uniqueKey(c.N), c.Value)
	case c.Eff&effSetLifetime != 0:
		fmt.Fprintf(&b, " idle=%v max=%v", c.Life.Idle, c.Life.Max)
	case c.Eff&effStep != 0:
		fmt.Fprintf(&b, " +%v → fake %s", c.Step, fmtD(c.FakeEnd))
	case c.Eff&effIncr != 0:
		fmt.Fprintf(&b, " %+d", c.Delta)
	case c.Eff&(effAddFlash|effSetCounter) != 0:
		fmt.Fprintf(&b, " %s", c.Value)
	}
	if c.Eff&(effSetOwner|effDestroyOwner) != 0 {
		fmt.Fprintf(&b, " owner=%q", c.Owner)
	}
	if c.Eff&effStep != 0 {
		return b.String()
	}
	if c.Eff&effDestroyOwner == 0 {
		fmt.Fprintf(&b, " sent=%s", shortID(c.Sent))
		if c.Replay {
			b.WriteString(" (replayed)")
		}
	}
	fmt.Fprintf(&b, " → %d", c.Status)
	if c.Ran && c.Eff&effDestroyOwner == 0 {
		fmt.Fprintf(&b, " id=%s view %d", shortID(c.ID), c.Views)
		if c.New {
			b.WriteString(" (new)")
		}
		if v, ok := c.Seen[sharedKey]; ok {
			fmt.Fprintf(&b, " seen %s=%s", sharedKey, v)
		} else {
			fmt.Fprintf(&b, " seen %s absent", sharedKey)
		}
		fmt.Fprintf(&b, " (+%d keys)", len(c.Seen)-btoi(c.Seen[sharedKey] != ""))
		if v, ok := c.Seen[counterKey]; ok {
			fmt.Fprintf(&b, " %s=%s", counterKey, v)
		}
		if c.SeenOwner != "" {
			fmt.Fprintf(&b, " of %q", c.SeenOwner)
		}
	}
	if c.Eff&effPopShared != 0 && c.Ran {
		if c.PopOK {
			fmt.Fprintf(&b, " popped %s", c.Popped)
		} else {
			b.WriteString(" popped nothing")
		}
	}
	if c.Eff&effRenew != 0 && c.NewID != "" {
		fmt.Fprintf(&b, " new id %s", shortID(c.NewID))
	}
	if c.Eff&effFlashes != 0 && c.Ran {
		fmt.Fprintf(&b, " took %v", c.Flashes)
	}
	if f := c.Seen[flashKey]; f != "" {
		fmt.Fprintf(&b, " flashes %s", f)
	}
	if c.Eff&(effDestroyOwner|effIncr) != 0 && c.Ran {
		fmt.Fprintf(&b, " count %d", c.Count)
	}
	if c.Cleared {
		b.WriteString(" cookie expired")
	} else if c.SetCookie != "" && c.SetCookie != c.ID && c.SetCookie != c.NewID {
		fmt.Fprintf(&b, " cookie %s", shortID(c.SetCookie))
	}
	if c.Err != "" {
		fmt.Fprintf(&b, " err=%q", c.Err)
	}
	return b.String()
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// violation is one contradiction between the history and a promise.
type violation struct {
	Inv   string // "1" … "7"
	Kind  string // what broke it, in a few words
	Msg   string
	Calls []*call // the excerpt that shows it
}

func (v violation) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "invariant %s (%s): %s", v.Inv, v.Kind, v.Msg)
	for _, c := range v.Calls {
		b.WriteString("\n      " + c.String())
	}
	return b.String()
}

// model holds the Manager's defaults, which a lifetime of 0 stands for,
// and its cap of sessions per owner (0: none) and whether it refuses extra
// logins.
type model struct {
	Idle, Max time.Duration
	Cap       int
	Refuse    bool
	// Grace is how long an id that a rotation (Config.RenewAfter)
	// replaced still works; 0: no rotation.
	Grace time.Duration
}

// rotated reports whether c's session got a new id by a rotation as the
// request began: the handler was given the session under another id than
// the one sent, not a new session.
func (c *call) rotated() bool {
	return c.Ran && !c.New && c.Sent != "" && c.ID != "" && c.ID != c.Sent
}

// checker is one history being checked.
type checker struct {
	m     model
	calls []*call
	out   []violation

	checked map[string]int // obligations checked, by invariant and kind

	parent  map[string]string // renewed id → the id it was renewed from
	bySent  map[string][]*call
	creator map[string]*call // id → the call that created it (new session or Renew)
	served  map[string][]*call
}

// checkHistory returns the violations of the invariants in calls.
func checkHistory(m model, calls []*call) ([]violation, map[string]int) {
	k := &checker{m: m, calls: calls, checked: map[string]int{}, parent: map[string]string{}, bySent: map[string][]*call{}, creator: map[string]*call{}, served: map[string][]*call{}}
	for _, c := range calls {
		if c.Sent != "" {
			k.bySent[c.Sent] = append(k.bySent[c.Sent], c)
		}
		if !c.Ran || c.ID == "" {
			continue
		}
		k.served[c.ID] = append(k.served[c.ID], c)
		if c.New {
			k.creator[c.ID] = c
		}
		if c.rotated() {
			k.parent[c.ID] = c.Sent
			k.creator[c.ID] = c
		}
		if c.Eff&effRenew != 0 {
			for _, nid := range []string{c.NewID, c.SetCookie} {
				if nid != "" && nid != c.ID {
					k.parent[nid] = c.ID
					k.creator[nid] = c
				}
			}
		}
	}
	k.views()
	k.lineageViews()
	k.ended()
	k.values()
	k.pops()
	k.counter()
	k.types()
	k.flashes()
	k.owners()
	k.capped()
	return k.out, k.checked
}

func (k *checker) report(inv, kind string, calls []*call, format string, args ...any) {
	k.out = append(k.out, violation{Inv: inv, Kind: kind, Msg: fmt.Sprintf(format, args...), Calls: calls})
}

// root returns the first id of id's lineage (the ids a session had
// through its Renews).
func (k *checker) root(id string) string {
	for range len(k.parent) + 1 {
		p, ok := k.parent[id]
		if !ok {
			return id
		}
		id = p
	}
	return id
}

// lineages returns, by root, the calls served on each lineage, in history
// order.
func (k *checker) lineages() map[string][]*call {
	out := map[string][]*call{}
	for _, c := range k.calls {
		if c.Ran && c.ID != "" && c.Eff&effDestroyOwner == 0 {
			r := k.root(c.ID)
			out[r] = append(out[r], c)
		}
	}
	return out
}

// Invariant 1: within one session id, every view number is distinct, and
// a view sent after another's answer arrived has a higher number. A Renew
// moves the count with the session, so the same holds across the ids of a
// lineage: a view counted on the old id after the move cannot be served
// (the old id is gone), so every number served under the old id is below
// the numbers of the new one.
func (k *checker) views() {
	for _, id := range slices.Sorted(maps.Keys(k.served)) {
		cs := k.served[id]
		byViews := map[int64]*call{}
		cs = counted(cs)
		k.checked["1: views"] += len(cs)
		for _, c := range cs {
			if d, ok := byViews[c.Views]; ok {
				k.report("1", "view number twice", []*call{d, c}, "session %s: view number %d served twice", shortID(id), c.Views)
				continue
			}
			byViews[c.Views] = c
		}
		for _, a := range cs {
			for _, b := range cs {
				if before(a, b) && b.Views <= a.Views {
					k.report("1", "views out of order", []*call{a, b}, "session %s: #%d was sent after #%d's answer (view %d) arrived, but got view %d", shortID(id), b.N, a.N, a.Views, b.Views)
				}
			}
		}
	}
}

// lineageViews checks view numbers across the ids of each lineage (pairs
// within one id are views' own).
// counted returns the calls of cs that counted a view: not those of an
// Uncounted route, which show the number of the last counted one.
func counted(cs []*call) []*call {
	return slices.DeleteFunc(slices.Clone(cs), func(c *call) bool { return c.Op == "peek" })
}

func (k *checker) lineageViews() {
	lins := k.lineages()
	for _, root := range slices.Sorted(maps.Keys(lins)) {
		lin := counted(lins[root])
		if len(k.idsOf(lin)) < 2 {
			continue
		}
		k.checked["1: views across a Renew"] += len(lin)
		byViews := map[int64]*call{}
		for _, c := range lin {
			if d, ok := byViews[c.Views]; ok && d.ID != c.ID {
				k.report("1", "view number twice across a Renew", []*call{d, c}, "lineage %s: view number %d served under %s by #%d and again under %s by #%d", shortID(root), c.Views, shortID(d.ID), d.N, shortID(c.ID), c.N)
				continue
			}
			if _, ok := byViews[c.Views]; !ok {
				byViews[c.Views] = c
			}
		}
		for _, a := range lin {
			for _, b := range lin {
				if a.ID != b.ID && before(a, b) && b.Views <= a.Views {
					k.report("1", "views out of order across a Renew", []*call{a, b}, "lineage %s: #%d was sent after #%d's answer (view %d under %s) arrived, but got view %d under %s", shortID(root), b.N, a.N, a.Views, shortID(a.ID), b.Views, shortID(b.ID))
				}
			}
		}
	}
}

// idsOf returns the distinct ids that calls were served on.
func (k *checker) idsOf(cs []*call) map[string]bool {
	ids := map[string]bool{}
	for _, c := range cs {
		ids[c.ID] = true
	}
	return ids
}

// visible returns the values a read over [r.Start, r.End] may see of a
// register whose initial value is init and whose writes are ws, with the
// writes each could come from (nil for the initial value): a write sent
// before the read ended that no acknowledged write surely followed before
// the read was sent; the initial value while no acknowledged write surely
// preceded the read.
type write struct {
	c *call
	v string
}

func visible(init string, ws []write, start, end time.Duration) map[string][]*call {
	out := map[string][]*call{}
	overwritten := func(w *call) bool { // an acked write surely after w and before the read
		for _, w2 := range ws {
			if w2.c.acked() && w2.c.End < start && (w == nil || w.End < w2.c.Start) {
				return true
			}
		}
		return false
	}
	if !overwritten(nil) {
		out[init] = append(out[init], nil)
	}
	for _, w := range ws {
		if w.c.Start < end && !overwritten(w.c) {
			out[w.v] = append(out[w.v], w.c)
		}
	}
	return out
}

// lifetimes returns the SetLifetime writes of a lineage, as
// "idle/max" register values with the defaults filled in.
func (k *checker) lifetimes(lin []*call) []write {
	var ws []write
	for _, c := range lin {
		if c.Eff&effSetLifetime != 0 && c.mayHaveApplied() {
			ws = append(ws, write{c, k.lifeValue(c.Life)})
		}
	}
	return ws
}

func (k *checker) lifeValue(l lifeIn) string {
	if l.Idle == 0 {
		l.Idle = k.m.Idle
	}
	if l.Max == 0 {
		l.Max = k.m.Max
	}
	return l.Idle.String() + "/" + l.Max.String()
}

func parseLife(v string) (idle, max time.Duration) {
	a, b, _ := strings.Cut(v, "/")
	idle, _ = time.ParseDuration(a)
	max, _ = time.ParseDuration(b)
	return idle, max
}

// longest returns the longest idle and max among possible lifetimes.
func longest(vals map[string][]*call) (idle, max time.Duration) {
	for v := range vals {
		i, m := parseLife(v)
		idle, max = maxDur(idle, i), maxDur(max, m)
	}
	return idle, max
}

// shortest returns the shortest idle and max among possible lifetimes.
func shortest(vals map[string][]*call) (idle, max time.Duration) {
	first := true
	for v := range vals {
		i, m := parseLife(v)
		if first {
			idle, max, first = i, m, false
		}
		idle, max = min(idle, i), min(max, m)
	}
	return idle, max
}

func maxDur(a, b time.Duration) time.Duration {
	if a > b {
		return a
	}
	return b
}

// Invariant 2: an ended session is never served again: not after an
// acknowledged Destroy of its id or of an id it was renewed from, not
// after an acknowledged Renew of its id, not at or after its idle expiry
// or its absolute deadline (by the fake clock), not after a request found
// it ended, not after an acknowledged SetLifetime or Login gave it a
// deadline already past. And a session does not end before its time when
// nothing ended it (liveness).
// rotatedFrom reports whether c was served on the id that a rotation of id
// gave the session: within the rotation's grace period, the old id is
// served that session, so c's view moved the expiry that id is judged by.
func (k *checker) rotatedFrom(c *call, id string) bool {
	if !c.Ran || c.ID == id || k.parent[c.ID] != id {
		return false
	}
	q := k.creator[c.ID]
	return q != nil && q.rotated()
}

// rotatedAway checks that an id that a rotation replaced is served no more
// once its grace period is over: a request that judged it at or after the
// rotation's end + Grace (by the fake clock) gets another session.
func (k *checker) rotatedAway() {
	for _, q := range k.calls {
		if !q.rotated() {
			continue
		}
		k.checked["2: rotations"]++
		for _, r := range k.bySent[q.Sent] {
			if !r.Ran || r.FakeStart < q.FakeEnd+k.m.Grace || r.Start < q.End {
				continue
			}
			k.checked["2: requests sent with an id after its rotation's grace period"]++
			if r.ID == q.Sent {
				k.report("2", "served after a rotation's grace", []*call{q, r}, "session %s was rotated to %s by #%d (answered at fake %s); #%d, sent at fake %s, after the grace period of %v, was still served on the old id (view %d)",
					shortID(q.Sent), shortID(q.ID), q.N, fmtD(q.FakeEnd), r.N, fmtD(r.FakeStart), k.m.Grace, r.Views)
			}
		}
	}
}

func (k *checker) ended() {
	lins := k.lineages()
	for id, cs := range k.served {
		var ends []*call
		for _, c := range cs {
			if c.acked() && c.Eff&(effDestroy|effRenew) != 0 && (c.Eff&effRenew == 0 || c.NewID != "") {
				ends = append(ends, c)
			}
		}
		for _, r := range k.bySent[id] {
			if !r.Ran {
				continue
			}
			for _, e := range ends {
				if !before(e, r) {
					continue
				}
				k.checked["2: requests sent with an id after its acknowledged Destroy or Renew"]++
				if r.ID == id {
					what := "destroyed"
					if e.Eff&effRenew != 0 {
						what = "renewed away (to " + shortID(e.NewID) + ")"
					}
					k.report("2", "served after Destroy or Renew", []*call{e, r}, "session %s was %s by #%d, answered 200 at %s; #%d, sent later at %s, was still served on it (view %d)", shortID(id), what, e.N, fmtD(e.End), r.N, fmtD(r.Start), r.Views)
				}
				break
			}
		}
	}
	k.rotatedAway()
	k.destroyedRenewed()
	k.foundEnded()
	k.pastDeadline(lins)
	for id := range k.served {
		lin := lins[k.root(id)]
		k.expiry(id, lin)
	}
}

// destroyedRenewed checks that an acknowledged Destroy ended the session
// under whatever id it had: the ids it was renewed to by Renews (and
// Logins) that began before the Destroy answered are not served to
// requests sent after that answer. (Either such a Renew came first, and
// the Destroy must end the session under its new id, or it came after the
// Destroy, and must fail.)
func (k *checker) destroyedRenewed() {
	for _, d := range k.calls {
		if d.Eff&effDestroy == 0 || !d.acked() || d.Err != "" || !d.Ran || d.ID == "" {
			continue
		}
		ids := map[string]*call{} // renewed ids, by the Renew that made them
		frontier := []string{d.ID}
		for len(frontier) > 0 {
			id := frontier[0]
			frontier = frontier[1:]
			for _, c := range k.served[id] {
				if c.Eff&effRenew != 0 && c.NewID != "" && c.Start < d.End && ids[c.NewID] == nil && c.NewID != d.ID {
					ids[c.NewID] = c
					frontier = append(frontier, c.NewID)
				}
			}
		}
		for _, nid := range slices.Sorted(maps.Keys(ids)) {
			for _, r := range k.served[nid] {
				if r.Start <= d.End {
					continue
				}
				k.checked["2: requests served on an id renewed from a destroyed one"]++
				rn := ids[nid]
				k.report("2", "destroyed session served under its renewed id", []*call{rn, d, r}, "session %s was renewed to %s by #%d [%s → %s] and destroyed by #%d, answered 200 at %s; #%d, sent later at %s, was still served on %s (view %d)",
					shortID(d.ID), shortID(nid), rn.N, fmtD(rn.Start), fmtD(rn.End), d.N, fmtD(d.End), r.N, fmtD(r.Start), shortID(nid), r.Views)
				break
			}
		}
	}
}

// foundEnded checks that a session that a request found ended (it sent
// the id, and its handler was given another session) is not served to a
// request sent after that answer: nothing brings an ended session back.
// Only a finding that no view of the session overlapped counts: a view
// that ran meanwhile found the session live, and the two may linearize
// either way, so its slide may still keep the session.
func (k *checker) foundEnded() {
	for _, id := range slices.Sorted(maps.Keys(k.served)) {
		var found *call // the earliest answer that found id ended
		for _, r := range k.bySent[id] {
			if !r.Ran || r.ID == "" || r.ID == id || r.rotated() || r.Eff&effDestroyOwner != 0 || found != nil && r.End >= found.End {
				continue
			}
			overlapped := false
			for _, q := range k.served[id] {
				if q.Start < r.End && r.Start < q.End {
					overlapped = true
				}
			}
			if !overlapped {
				found = r
			}
		}
		if found == nil {
			continue
		}
		for _, r := range k.served[id] {
			if r.Start <= found.End {
				continue
			}
			k.checked["2: requests served on an id that an earlier request found ended"]++
			ex := []*call{found}
			var lifes []string
			for _, c := range k.served[id] {
				if c.Eff&effSetLifetime != 0 && c.mayHaveApplied() && c.Start < r.End && c.End > found.Start {
					ex = append(ex, c)
					lifes = append(lifes, fmt.Sprintf("#%d", c.N))
				}
			}
			kind, why := "revived after it was found ended", ""
			if len(lifes) > 0 {
				kind, why = "revived by SetLifetime after it was found ended", "; SetLifetime calls that may have revived it: "+strings.Join(lifes, ", ")
			}
			ex = append(ex, r)
			k.report("2", kind, ex, "session %s was found ended by #%d (given session %s, answered at %s); #%d, sent later at %s, was served on it again (view %d)%s",
				shortID(id), found.N, shortID(found.ID), fmtD(found.End), r.N, fmtD(r.Start), r.Views, why)
			break
		}
	}
}

// pastDeadline checks that an acknowledged SetLifetime or Login whose
// lifetime puts the session's deadline (its creation + Max) at or before
// the moment it was called ended the session: whichever way it raced with
// other changes, no id of the lineage is served to a request sent after
// its answer.
func (k *checker) pastDeadline(lins map[string][]*call) {
	for _, root := range slices.Sorted(maps.Keys(lins)) {
		creator := k.creator[root]
		if creator == nil {
			continue
		}
		lin := lins[root]
		for _, s := range lin {
			if s.Eff&effSetLifetime == 0 || !s.acked() || s.Err != "" {
				continue
			}
			max := s.Life.Max
			if max == 0 {
				max = k.m.Max
			}
			deadline := creator.FakeEnd + max
			if s.FakeStart < deadline {
				continue
			}
			for _, r := range lin {
				if r.Start <= s.End {
					continue
				}
				k.checked["2: requests served after a SetLifetime or Login put the deadline in the past"]++
				var ex []*call
				for _, c := range lin {
					if c != s && c.Eff&effSetLifetime != 0 && c.mayHaveApplied() && c.End > s.Start && c.Start < r.End {
						ex = append(ex, c) // a lifetime change that may have brought it back
					}
				}
				k.report("2", "served after SetLifetime ended it", append(append([]*call{creator, s}, ex...), r), "lineage %s, created by #%d by fake %s, was given a lifetime of %v by #%d (%s, answered 200 at %s) at fake %s, at or after its new deadline %s; #%d, sent later at %s, was still served on %s (view %d)",
					shortID(root), creator.N, fmtD(creator.FakeEnd), max, s.N, s.Op, fmtD(s.End), fmtD(s.FakeStart), fmtD(deadline), r.N, fmtD(r.Start), shortID(r.ID), r.Views)
				break
			}
		}
	}
}

// expiry checks the served views of id against the latest expiry its
// history allows, and its new sessions against the earliest.
func (k *checker) expiry(id string, lin []*call) {
	life := k.lifetimes(lin)
	rootCreator := k.creator[k.root(id)]
	// slides are the calls that may have moved id's expiry: every request
	// that sent it (even one that failed before its handler: its view may
	// have been counted) and the one that created it.
	var slides []*call
	for _, c := range k.calls {
		if c.Eff&(effStep|effDestroyOwner) == 0 && (c.Sent == id || k.creator[id] == c || k.rotatedFrom(c, id)) {
			slides = append(slides, c)
		}
	}
	for _, r := range k.calls {
		if r.Sent != id || !r.Ran || r.Eff&effDestroyOwner != 0 {
			continue
		}
		k.servedInTime(id, r, slides, life, rootCreator)
		if r.ID != id && !r.rotated() {
			k.notEndedEarly(id, r, lin, life, rootCreator)
		}
	}
}

// servedInTime checks a request r that sent id: if it was sent at or
// after the latest expiry or deadline id can have had, it must not have
// been served on id.
func (k *checker) servedInTime(id string, r *call, slides []*call, life []write, rootCreator *call) {
	served := r.ID == id
	var bound time.Duration = -1
	var by *call
	var byIdle time.Duration
	for _, q := range slides {
		if q == r || q.Start >= r.End || q.Ran && q.ID != id && k.creator[id] != q && !k.rotatedFrom(q, id) {
			continue // q came later, or found id ended: it slid nothing
		}
		superseded := false
		for _, s := range life {
			if s.c.acked() && s.c.ID == id && before(q, s.c) && s.c.End < r.Start {
				superseded = true
			}
		}
		if superseded {
			continue
		}
		// q's visit slid the expiry by the idle timeout it found; a
		// SetLifetime then set it again by its own (acknowledged: only
		// that one counts).
		idle, _ := longest(visible(k.lifeValue(lifeIn{}), life, q.Start, q.End))
		if q.Eff&effSetLifetime != 0 && q.mayHaveApplied() && q.ID == id {
			own := parseIdle(k.lifeValue(q.Life))
			if q.acked() {
				idle = own
			} else {
				idle = maxDur(idle, own)
			}
		}
		if e := q.FakeEnd + idle; e > bound {
			bound, by, byIdle = e, q, idle
		}
	}
	if by != nil && r.FakeStart >= bound {
		k.checked["2: requests sent with an id at or after its idle expiry"]++
		if !served {
			return
		}
		k.report("2", "served after idle expiry", []*call{by, r}, "session %s was served by #%d at fake %s (view %d), at or after its idle expiry: the last call that could have slid it, #%d, ended at fake %s, and its idle timeout was at most %v, so it ended by fake %s",
			shortID(id), r.N, fmtD(r.FakeStart), r.Views, by.N, fmtD(by.FakeEnd), byIdle, fmtD(bound))
		return
	}
	if rootCreator == nil {
		return
	}
	_, maxLife := longest(visible(k.lifeValue(lifeIn{}), life, r.Start, r.End))
	if deadline := rootCreator.FakeEnd + maxLife; r.FakeStart >= deadline {
		k.checked["2: requests sent with an id at or after its absolute deadline"]++
		if !served {
			return
		}
		k.report("2", "served after deadline", []*call{rootCreator, r}, "session %s was served by #%d at fake %s (view %d), at or after its absolute deadline: its lineage was created by #%d by fake %s with a lifetime of at most %v, so it ended by fake %s",
			shortID(id), r.N, fmtD(r.FakeStart), r.Views, rootCreator.N, fmtD(rootCreator.FakeEnd), maxLife, fmtD(deadline))
	}
}

func parseIdle(v string) time.Duration {
	i, _ := parseLife(v)
	return i
}

// notEndedEarly checks a request r2 that sent id and was given another
// session (liveness): a view r of id answered before r2 was sent keeps the
// session until at least r's time + idle − slack (the expiry moves with
// each view, by at least the slack), and its deadline keeps it until its
// creation + Max. It does not apply when something may have ended or
// shortened the session after r began and before r2 answered: a Destroy,
// Renew or Login of an id of its lineage (a Destroy follows a Renew that
// moved the session while it ran), a DestroyOwnerSessions of an owner the
// session may have had, a Login or SetOwner of such an owner elsewhere when
// sessions are capped (the cap may end it), a lifetime change of the lineage (one answered before r
// gives the idle timeout and Max that r found); nor
// to a view r during which another request found id ended (the session
// may have ended before r's slide landed, and r's view counted on an
// ended session).
func (k *checker) notEndedEarly(id string, r2 *call, lin []*call, life []write, rootCreator *call) {
	if rootCreator == nil {
		return
	}
	// enders are the calls that may end or shorten the session.
	// A Destroy or Renew of any id of the lineage: a Destroy follows a
	// Renew that moved the session while it ran.
	var enders []*call
	for _, c := range lin {
		if (c.Eff&(effDestroy|effRenew) != 0 || c.rotated()) && c.mayHaveApplied() && c.Start < r2.End {
			enders = append(enders, c)
		}
	}
	// With rotation on, a request of id that failed may have rotated it
	// without its answer delivering the new id: the old one then dies
	// after the grace period, as after a Renew whose answer was lost.
	if k.m.Grace > 0 {
		for _, c := range k.bySent[id] {
			if !c.acked() && c.Start < r2.End {
				enders = append(enders, c)
			}
		}
	}
	owners := map[string]bool{}
	for _, c := range lin {
		if c.Eff&effSetOwner != 0 && c.mayHaveApplied() && c.Start < r2.End && c.Owner != "" {
			owners[c.Owner] = true
		}
	}
	for _, c := range k.calls {
		if c.Start >= r2.End || !owners[c.Owner] {
			continue
		}
		if c.Eff&effDestroyOwner != 0 || c.Eff&(effLogin|effSetOwner) != 0 && k.m.Cap > 0 && c.mayHaveApplied() {
			enders = append(enders, c)
		}
	}
	for _, w := range life {
		enders = append(enders, w.c)
	}
	var best *call
	var bestBound, bestIdle time.Duration
	for _, r := range k.served[id] {
		if !before(r, r2) {
			continue
		}
		// One that answered before r began did its work before r found
		// the session live: it ends nothing after r (and a lifetime it
		// gave is the one r found).
		changed := false
		for _, e := range enders {
			if e.End > r.Start && e.Start < r2.End {
				changed = true
			}
		}
		for _, q := range k.bySent[id] {
			if q.Ran && q.ID != "" && q.ID != id && q.Start < r.End && r.Start < q.End {
				changed = true
			}
		}
		if changed {
			continue
		}
		idle, maxLife := shortest(visible(k.lifeValue(lifeIn{}), life, r.Start, r.End))
		bound := min(r.FakeStart+idle-slideSlack(idle), rootCreator.FakeStart+maxLife)
		if best == nil || bound > bestBound {
			best, bestBound, bestIdle = r, bound, idle
		}
	}
	if best == nil {
		return
	}
	k.checked["2: requests given a new session in place of one they sent"]++
	if r2.FakeEnd >= bestBound {
		return
	}
	what := "a view"
	if best.Eff != 0 {
		what = "a view that also ran " + best.Op
	}
	k.report("2", "ended early", []*call{best, r2}, "session %s ended early: #%d sent it (answered by fake %s) and was given a new session %s, but nothing ended it: #%d (%s, at fake %s, answered at %s) keeps it alive until at least fake %s (idle %v − slack %v, or the deadline)",
		shortID(id), r2.N, fmtD(r2.FakeEnd), shortID(r2.ID), best.N, what, fmtD(best.FakeStart), fmtD(best.End), fmtD(bestBound), bestIdle, slideSlack(bestIdle))
}

// Invariant 3: a value acknowledged by a 200 is seen by every request of
// the session (on any instance) sent after that answer, until a later
// change of the key; a value is never one that was never written; and a
// set is seen whole (its shared key and its own key) or not at all.
func (k *checker) values() {
	setBy := map[string]*call{}
	for _, c := range k.calls {
		if c.Eff&effSetShared != 0 && c.Value != "" {
			setBy[c.Value] = c
		}
	}
	lins := k.lineages()
	for _, root := range slices.Sorted(maps.Keys(lins)) {
		lin := lins[root]
		writes := map[string][]write{}
		keys := map[string]bool{sharedKey: true}
		for _, c := range lin {
			if !c.mayHaveApplied() {
				continue
			}
			if c.Eff&effSetShared != 0 {
				writes[sharedKey] = append(writes[sharedKey], write{c, c.Value})
				writes[uniqueKey(c.N)] = append(writes[uniqueKey(c.N)], write{c, c.Value})
				keys[uniqueKey(c.N)] = true
			}
			// A pop that failed may have deleted the value all the same (its
			// answer lost after the store applied it).
			if c.Eff&effDelShared != 0 || c.Eff&effPopShared != 0 && (c.PopOK || c.Err != "") {
				writes[sharedKey] = append(writes[sharedKey], write{c, ""})
			}
			for key := range c.Seen {
				if key != counterKey && key != flashKey {
					keys[key] = true
				}
			}
		}
		for _, key := range slices.Sorted(maps.Keys(keys)) {
			for _, r := range lin {
				k.read(root, key, r, r.Seen[key], "found", writes[key], setBy)
				if key == sharedKey && r.Eff&effPopShared != 0 && r.PopOK && r.Err == "" {
					k.read(root, key, r, r.Popped, "popped", writes[key], setBy)
				}
			}
		}
		// A set is seen whole or not at all.
		for _, r := range lin {
			v := r.Seen[sharedKey]
			w := setBy[v]
			if v == "" || w == nil {
				continue
			}
			if w.Op == "modify" {
				// Modify stores the shared key when it returns, the other
				// key with the request's save: two writes, not one, so a
				// request under way in between, or a modify that failed
				// after its first write, shows the one without the other.
				// Requests sent after its answer are checked key by key.
				continue
			}
			if got := r.Seen[uniqueKey(w.N)]; got != v {
				k.report("3", "half of a write", []*call{w, r}, "half of a write: #%d found %s=%s, written by #%d together with %s=%s, but found %s=%q", r.N, sharedKey, v, w.N, uniqueKey(w.N), v, uniqueKey(w.N), got)
			}
		}
	}
}

// read checks that r's value v of key (found at load, or popped) is one it
// may see.
func (k *checker) read(root, key string, r *call, v, how string, ws []write, setBy map[string]*call) {
	k.checked["3: values read"]++
	if key == sharedKey && v != "" && k.poppedBefore(r, v, setBy) {
		return
	}
	vis := visible("", ws, r.Start, r.End)
	if _, ok := vis[v]; ok {
		return
	}
	show := func(v string) string {
		if v == "" {
			return "no value"
		}
		return v
	}
	if v != "" {
		written := false
		for _, w := range ws {
			if w.v == v {
				written = true
			}
		}
		if !written {
			ex := []*call{r}
			if w := setBy[v]; w != nil {
				ex = []*call{w, r}
				k.report("3", "value of another session", ex, "#%d %s %s=%s in session %s, a value written by #%d to another session (%s)", r.N, how, key, v, shortID(r.ID), w.N, shortID(w.ID))
				return
			}
			k.report("3", "value never written", ex, "#%d %s %s=%s in session %s, a value never written", r.N, how, key, v, shortID(r.ID))
			return
		}
	}
	// A stale value: every write it could come from was surely replaced
	// by an acknowledged write before r was sent. Show the latest such
	// write of another value, and the last source of v.
	var src *call
	for _, w := range ws {
		if w.v == v {
			src = w.c
		}
	}
	var latest *write
	for i, w := range ws {
		if w.c.acked() && w.c.End < r.Start && w.v != v && (latest == nil || w.c.End > latest.c.End) {
			latest = &ws[i]
		}
	}
	if latest != nil {
		w2 := *latest
		ex := []*call{w2.c, r}
		if src != nil {
			ex = []*call{src, w2.c, r}
		}
		across := ""
		if renews := k.renewsBetween(w2.c.ID, r.ID); len(renews) > 0 {
			across = fmt.Sprintf(" (#%d wrote under %s, which", w2.c.N, shortID(w2.c.ID))
			for _, rn := range renews {
				across += fmt.Sprintf(" #%d [%s → %s] renewed to %s,", rn.N, fmtD(rn.Start), fmtD(rn.End), shortID(rn.NewID))
			}
			across = strings.TrimSuffix(across, ",") + ")"
			ex = append(ex[:len(ex)-1], append(renews, r)...)
		}
		kind := "stale read"
		if across != "" {
			kind = "stale read across a Renew"
		}
		k.report("3", kind, ex, "stale read: #%d %s %s of %s in session %s, but #%d (%s, answered 200 at %s, before #%d was sent at %s) had replaced it with %s%s; possible values were %s",
			r.N, how, show(v), key, shortID(r.ID), w2.c.N, w2.c.Op, fmtD(w2.c.End), r.N, fmtD(r.Start), show(w2.v), across, showSet(vis, show))
		return
	}
	k.report("3", "impossible read", []*call{r}, "#%d %s %s of %s in session %s; possible values were %s", r.N, how, show(v), key, shortID(r.ID), showSet(vis, show))
}

// poppedBefore reports (invariant 4) a value v of the shared key that r
// found or popped although a Pop had returned it, and so deleted it, before
// r was sent. Each value is written by one call, once: the Pop that
// returned it came after that write, so nothing can bring it back.
func (k *checker) poppedBefore(r *call, v string, setBy map[string]*call) bool {
	for _, p := range k.calls {
		if p == r || p.Eff&effPopShared == 0 || !p.Ran || !p.PopOK || p.Err != "" || p.Popped != v || p.End >= r.Start {
			continue
		}
		k.checked["4: values read after a Pop returned them"]++
		ex := []*call{p, r}
		why := ""
		if w := setBy[v]; w != nil {
			ex = []*call{w, p, r}
			if w.End > p.End {
				why = fmt.Sprintf("; its set #%d answered at %s, after the Pop", w.N, fmtD(w.End))
			}
		}
		k.report("4", "popped value back", ex, "#%d popped %s=%s in session %s (answered at %s), but #%d, sent later at %s, %s it again in session %s%s",
			p.N, sharedKey, v, shortID(p.ID), fmtD(p.End), r.N, fmtD(r.Start), map[bool]string{true: "popped", false: "found"}[r.Eff&effPopShared != 0 && r.Popped == v], shortID(r.ID), why)
		return true
	}
	return false
}

// renewsBetween returns the Renews that took a lineage from id from to
// id to, oldest first.
func (k *checker) renewsBetween(from, to string) []*call {
	var out []*call
	for id := to; id != from; {
		p, ok := k.parent[id]
		if !ok || len(out) > len(k.parent) {
			return nil
		}
		out = append([]*call{k.creator[id]}, out...)
		id = p
	}
	return out
}

func showSet(vis map[string][]*call, show func(string) string) string {
	var s []string
	for v := range vis {
		s = append(s, show(v))
	}
	sort.Strings(s)
	return "{" + strings.Join(s, ", ") + "}"
}

// Invariant 4: a value is popped by at most one request.
func (k *checker) pops() {
	by := map[string][]*call{}
	setBy := map[string]*call{}
	for _, c := range k.calls {
		if c.Eff&effSetShared != 0 && c.Value != "" {
			setBy[c.Value] = c
		}
		if c.Eff&effPopShared != 0 && c.Ran && c.PopOK && c.Err == "" {
			by[c.Popped] = append(by[c.Popped], c)
		}
	}
	k.checked["4: values popped"] = len(by)
	for _, v := range slices.Sorted(maps.Keys(by)) {
		if cs := by[v]; len(cs) > 1 {
			var ns []string
			for _, c := range cs {
				ns = append(ns, fmt.Sprintf("#%d (%d)", c.N, c.Status))
			}
			// The set that wrote the value answered only after one of its
			// pops was answered: the set may have been applied again after
			// that pop (a resent write).
			kind, ex, why := "popped twice", cs, ""
			for _, c := range cs {
				if c.Eff&effIncr != 0 {
					// The pop ran on the request's copy as its own
					// increment had left it.
					kind, why = "popped twice, once after an increment in the same request", fmt.Sprintf("; #%d incremented first", c.N)
				}
			}
			if w := setBy[v]; w != nil {
				first := cs[0]
				for _, c := range cs {
					if c.End < first.End {
						first = c
					}
				}
				if w.End > first.End {
					kind, ex = "popped twice, its set still under way after the first pop", append([]*call{w}, cs...)
					why = fmt.Sprintf("; its set #%d (%d) answered at %s, after the first pop #%d answered at %s", w.N, w.Status, fmtD(w.End), first.N, fmtD(first.End))
				}
			}
			k.report("4", kind, ex, "value %s popped by %d requests: %s%s", v, len(cs), strings.Join(ns, ", "), why)
		}
	}
}

// Invariant 4, counters: the final value of each lineage's counter lies
// within [acknowledged increments, acknowledged + unknown ones], and no two
// acknowledged increments answered the same new value.
func (k *checker) counter() {
	lins := k.lineages()
	for _, root := range slices.Sorted(maps.Keys(lins)) {
		lin := lins[root]
		var acked, unknown int64
		var incrs []*call
		answered := map[int64]*call{}
		retyped := false // a value of another type may have been set: no bounds
		for _, c := range lin {
			if c.Eff&effSetCounter != 0 && c.mayHaveApplied() {
				retyped = true
			}
			if c.Eff&effIncr == 0 || !c.mayHaveApplied() {
				continue
			}
			incrs = append(incrs, c)
			if !c.acked() || c.Err != "" {
				unknown += c.Delta
				continue
			}
			acked += c.Delta
			if d, ok := answered[c.Count]; ok {
				k.report("4", "counter value twice", []*call{d, c}, "counter of session %s: #%d and #%d both answered %d", shortID(root), d.N, c.N, c.Count)
			}
			answered[c.Count] = c
		}
		if len(incrs) == 0 || retyped {
			continue
		}
		var last *call // the last read, if it came after every increment
		for _, c := range lin {
			if last == nil || c.Start > last.Start {
				last = c
			}
		}
		for _, c := range incrs {
			if c.End > last.Start {
				last = nil
				break
			}
		}
		if last == nil {
			continue
		}
		k.checked["4: counters"]++
		got, _ := strconv.ParseInt(last.Seen[counterKey], 10, 64)
		if got < acked || got > acked+unknown {
			k.report("4", "counter out of bounds", []*call{last}, "counter of session %s: final value %d, want within [%d acknowledged, %d with unknown outcomes]", shortID(root), got, acked, acked+unknown)
		}
	}
}

// intState stands for "an integer, or nothing" among the states of the
// counter's key (the other states are the values set by effSetCounter).
const intState = "(an integer or nothing)"

// isIntText reports whether v, a value as the handler shows it, is an
// integer.
func isIntText(v string) bool {
	_, err := strconv.ParseInt(v, 10, 64)
	return err == nil
}

// Invariant 6: an increment never replaces a value of another type. The
// counter's key holds an integer, or nothing, until a setstr or setfloat
// gives it a string or a float; no later change makes it an integer again
// (no operation deletes it, and an Increment over another type must fail
// and leave it). So an increment acknowledged while every state the key
// may have had was of another type, or an integer read in such a state,
// shows a value replaced by an increment; and a string or float read must
// be one that was set.
func (k *checker) types() {
	lins := k.lineages()
	for _, root := range slices.Sorted(maps.Keys(lins)) {
		lin := lins[root]
		var ws []write
		for _, c := range lin {
			if c.Eff&effSetCounter != 0 && c.mayHaveApplied() {
				ws = append(ws, write{c, c.Value})
			}
		}
		if len(ws) == 0 {
			continue
		}
		for _, c := range lin {
			vis := visible(intState, ws, c.Start, c.End)
			_, intOK := vis[intState]
			if c.Eff&effIncr != 0 && c.acked() && c.Err == "" {
				k.checked["6: increments acknowledged where another type may have been"]++
				if !intOK {
					k.report("6", "increment replaced a value of another type", k.typeExcerpt(ws, c), "#%d's increment by %d answered success (%d) in session %s, but the counter's key could only hold %s then",
						c.N, c.Delta, c.Count, shortID(c.ID), showSet(vis, func(v string) string { return v }))
				}
			}
			v, ok := c.Seen[counterKey]
			if !ok {
				continue
			}
			k.checked["6: counter values read where another type may have been"]++
			switch _, set := vis[v]; {
			case isIntText(v) && !intOK:
				k.report("6", "integer in place of a value of another type", k.typeExcerpt(ws, c), "#%d found %s=%s in session %s, an integer, where the key could only hold %s: an increment replaced it",
					c.N, counterKey, v, shortID(c.ID), showSet(vis, func(v string) string { return v }))
			case !isIntText(v) && !set:
				kind := "counter value never set"
				if _, err := strconv.ParseFloat(v, 64); err == nil && v != fmt.Sprint(counterFloat) {
					kind = "increment changed a value of another type"
				}
				k.report("6", kind, k.typeExcerpt(ws, c), "#%d found %s=%s in session %s; the key could hold %s",
					c.N, counterKey, v, shortID(c.ID), showSet(vis, func(v string) string { return v }))
			}
		}
	}
}

// typeExcerpt returns the type changes before c's answer, and c.
func (k *checker) typeExcerpt(ws []write, c *call) []*call {
	var ex []*call
	for _, w := range ws {
		if w.c.Start < c.End {
			ex = append(ex, w.c)
		}
	}
	if len(ex) > 3 {
		ex = ex[len(ex)-3:]
	}
	return append(ex, c)
}

// Invariant 7: the cap of sessions per owner (model.Cap). After a Login of
// an owner answered success, at no moment T are more than the cap of that
// owner's sessions live, except for sessions that a SetOwner (which is not
// capped) may have bound to the owner since the Login began. What the
// history shows of a moment T: a lineage whose owner changes (SetOwner,
// Login) all ended before T, and that a request sent at or after T found
// live and bound to the owner, was live and bound to it at T (an ended
// session is never served again). Without RefuseExtraLogins no login is
// refused for the cap.
func (k *checker) capped() {
	if k.m.Cap <= 0 {
		return
	}
	for _, c := range k.calls {
		if c.Eff&effLogin != 0 && c.Ran && strings.Contains(c.Err, "too many sessions") {
			k.checked["7: logins refused for the cap"]++
			if !k.m.Refuse {
				k.report("7", "login refused without RefuseExtraLogins", []*call{c}, "#%d's login as %q was refused (%s), but extra logins end the owner's least recently used sessions", c.N, c.Owner, c.Err)
			}
		}
	}
	type lineage struct {
		root      string
		changed   bool                     // an owner change may have applied
		changeEnd time.Duration            // when the last owner change answered
		setOwner  map[string]time.Duration // owner → the latest answer of a SetOwner (not a Login) to it
		served    map[string]*call         // owner → the latest-sent request served with it
	}
	lins := k.lineages()
	var all []*lineage
	for _, root := range slices.Sorted(maps.Keys(lins)) {
		x := &lineage{root: root, setOwner: map[string]time.Duration{}, served: map[string]*call{}}
		for _, c := range lins[root] {
			if c.Eff&effSetOwner != 0 && c.mayHaveApplied() {
				x.changed, x.changeEnd = true, maxDur(x.changeEnd, c.End)
				if c.Eff&effLogin == 0 {
					x.setOwner[c.Owner] = maxDur(x.setOwner[c.Owner], c.End)
				}
			}
			if c.SeenOwner != "" && (x.served[c.SeenOwner] == nil || c.Start > x.served[c.SeenOwner].Start) {
				x.served[c.SeenOwner] = c
			}
		}
		if x.changed {
			all = append(all, x)
		}
	}
	for _, o := range raceOwnersOf(k.calls) {
		var logins, moments []*call
		for _, c := range k.calls {
			if c.Eff&effLogin != 0 && c.Owner == o && c.acked() && c.Err == "" && c.NewID != "" {
				logins = append(logins, c)
			}
			if c.Ran && c.ID != "" && c.SeenOwner == o {
				moments = append(moments, c)
			}
		}
		reported := map[*call]bool{}
		for _, m := range moments {
			t := m.Start
			// The Login answered before t that began last: the fewest
			// SetOwners since.
			var l *call
			for _, c := range logins {
				if c.End < t && (l == nil || c.Start > l.Start) {
					l = c
				}
			}
			if l == nil || reported[l] {
				continue
			}
			var live []*lineage
			for _, x := range all {
				s := x.served[o]
				if x.changeEnd < t && s != nil && s.Start >= t && x.setOwner[o] <= l.Start {
					live = append(live, x)
				}
			}
			k.checked["7: moments after a login with the owner's sessions counted"]++
			if len(live) <= k.m.Cap {
				continue
			}
			reported[l] = true
			ex := []*call{l}
			var names []string
			for _, x := range live {
				s := x.served[o]
				ex = append(ex, s)
				names = append(names, fmt.Sprintf("%s (served by #%d at %s)", shortID(x.root), s.N, fmtD(s.Start)))
			}
			k.report("7", "more sessions than the cap", ex, "owner %q had %d live sessions at %s, after #%d's login (answered 200 at %s), with a cap of %d: lineages %s, each bound before that moment and served later",
				o, len(live), fmtD(t), l.N, fmtD(l.End), k.m.Cap, strings.Join(names, ", "))
		}
	}
}

// raceOwnersOf returns the owners that calls logged in as, sorted.
func raceOwnersOf(calls []*call) []string {
	set := map[string]bool{}
	for _, c := range calls {
		if c.Eff&effLogin != 0 && c.Owner != "" {
			set[c.Owner] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// Flash messages, as values (invariant 3) and as pops (invariant 4): a
// message is taken by at most one Flashes call; a message shown was added
// to that session; and one whose AddFlash was acknowledged is still there
// for a request sent later, unless a Flashes call may have taken it.
func (k *checker) flashes() {
	takenBy := map[string][]*call{}
	lins := k.lineages()
	for _, root := range slices.Sorted(maps.Keys(lins)) {
		lin := lins[root]
		added := map[string]*call{}
		var takes []*call
		for _, c := range lin {
			if c.Eff&effAddFlash != 0 && c.mayHaveApplied() {
				added[c.Value] = c
			}
			if c.Eff&effFlashes != 0 && c.mayHaveApplied() {
				takes = append(takes, c)
			}
		}
		for _, r := range lin {
			seen := flashList(r.Seen[flashKey])
			shown := seen
			if r.Eff&effFlashes != 0 && r.Err == "" {
				shown = append(slices.Clone(seen), r.Flashes...)
				for _, m := range r.Flashes {
					takenBy[m] = append(takenBy[m], r)
				}
			}
			for _, m := range shown {
				k.checked["3: flash messages read"]++
				if a := added[m]; a == nil || a.Start >= r.End {
					k.report("3", "flash never added", []*call{r}, "#%d found the flash message %s in session %s, which no AddFlash of the session sent before it ended", r.N, m, shortID(r.ID))
				}
			}
			for m, a := range added {
				if !a.acked() || !before(a, r) || slices.Contains(seen, m) {
					continue
				}
				taken := false
				for _, f := range takes {
					if f != r && a.Start < f.End && f.Start < r.End {
						taken = true // f may have taken it
					}
				}
				if taken {
					continue
				}
				kind, across, ex := "flash lost", "", []*call{a, r}
				if renews := k.renewsBetween(a.ID, r.ID); len(renews) > 0 {
					kind, across = "flash lost across a Renew", fmt.Sprintf(" (added under %s, renewed to %s by #%d [%s → %s])", shortID(a.ID), shortID(r.ID), renews[len(renews)-1].N, fmtD(renews[len(renews)-1].Start), fmtD(renews[len(renews)-1].End))
					ex = append([]*call{a}, append(renews, r)...)
				}
				k.report("3", kind, ex, "flash message %s, added by #%d (answered 200 at %s), is missing from #%d, sent later at %s, and no Flashes call could have taken it%s", m, a.N, fmtD(a.End), r.N, fmtD(r.Start), across)
			}
		}
	}
	for _, m := range slices.Sorted(maps.Keys(takenBy)) {
		if cs := takenBy[m]; len(cs) > 1 {
			k.report("4", "flash shown twice", cs, "flash message %s taken by %d Flashes calls", m, len(cs))
		}
	}
}

// Invariant 5: after DestroyOwnerSessions(owner) answered success, no
// session bound to owner before the call began (an acknowledged SetOwner,
// not possibly undone by another) is served again, under any id of its
// lineage, its renewed ids included.
func (k *checker) owners() {
	lins := k.lineages()
	for _, d := range k.calls {
		if d.Eff&effDestroyOwner == 0 || !d.acked() {
			continue
		}
		for _, root := range slices.Sorted(maps.Keys(lins)) {
			lin := lins[root]
			var ws []write
			var bound *call
			for _, c := range lin {
				if c.Eff&effSetOwner != 0 && c.mayHaveApplied() {
					ws = append(ws, write{c, c.Owner})
					if c.acked() && c.End < d.Start && c.Owner == d.Owner {
						bound = c
					}
				}
			}
			vis := visible("", ws, d.Start, d.End)
			if _, ok := vis[d.Owner]; !ok || len(vis) != 1 || bound == nil {
				continue // not surely bound to the owner throughout the call
			}
			for _, r := range k.calls {
				if r.Start <= d.End || !r.Ran || r.Sent == "" || k.root(r.Sent) != root {
					continue
				}
				k.checked["5: requests sent with an id of an owner's session after DestroyOwnerSessions"]++
				if r.ID == r.Sent {
					k.report("5", "owner session survived", []*call{bound, d, r}, "session %s was bound to %q by #%d before DestroyOwnerSessions #%d began, and that call answered 200 (%d ended) at %s; #%d, sent later at %s, was still served on %s (view %d)",
						shortID(root), d.Owner, bound.N, d.N, d.Count, fmtD(d.End), r.N, fmtD(r.Start), shortID(r.ID), r.Views)
					break
				}
			}
		}
	}
}
