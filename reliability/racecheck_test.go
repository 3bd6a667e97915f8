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
)

// counterKey is the key of the suite's counter (effIncr).
const counterKey = "counter"

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
	fmt.Fprintf(&b, "#%d w%d i%d v%d [%s → %s] fake %s: %s", c.N, c.Worker, c.Instance, c.Visitor, fmtD(c.Start), fmtD(c.End), fmtD(c.FakeStart), c.Op)
	switch {
	case c.Eff&effSetShared != 0:
		fmt.Fprintf(&b, " %s=%s,%s=%s", sharedKey, c.Value, uniqueKey(c.N), c.Value)
	case c.Eff&effSetLifetime != 0:
		fmt.Fprintf(&b, " idle=%v max=%v", c.Life.Idle, c.Life.Max)
	case c.Eff&effStep != 0:
		fmt.Fprintf(&b, " +%v → fake %s", c.Step, fmtD(c.FakeEnd))
	case c.Eff&effIncr != 0:
		fmt.Fprintf(&b, " %+d", c.Delta)
	case c.Eff&effAddFlash != 0:
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
	Inv   string // "1" … "5"
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

// model holds the Manager's defaults, which a lifetime of 0 stands for.
type model struct {
	Idle, Max time.Duration
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
	k.ended()
	k.values()
	k.pops()
	k.counter()
	k.flashes()
	k.owners()
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
// a view sent after another's answer arrived has a higher number.
func (k *checker) views() {
	for _, id := range slices.Sorted(maps.Keys(k.served)) {
		cs := k.served[id]
		byViews := map[int64]*call{}
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
// acknowledged Destroy or Renew of its id, not at or after its idle expiry
// or its absolute deadline (by the fake clock). And (with slideSlack) it
// does not end before its time when nothing ended it.
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
	for id := range k.served {
		lin := lins[k.root(id)]
		k.expiry(id, lin)
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
		if c.Eff&(effStep|effDestroyOwner) == 0 && (c.Sent == id || k.creator[id] == c) {
			slides = append(slides, c)
		}
	}
	for _, r := range k.calls {
		if r.Sent != id || !r.Ran || r.Eff&effDestroyOwner != 0 {
			continue
		}
		k.servedInTime(id, r, slides, life, rootCreator)
		if r.ID != id {
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
		if q == r || q.Start >= r.End || q.Ran && q.ID != id && k.creator[id] != q {
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

// notEndedEarly checks a request r that sent id but got another session:
// something must have ended id by then (a call that may have ended it, or
// its expiry).
func (k *checker) notEndedEarly(id string, r *call, lin []*call, life []write, rootCreator *call) {
	if rootCreator == nil || len(life) > 0 {
		return // a lifetime change may have ended it: not modelled exactly
	}
	for _, c := range lin {
		if c.Start < r.End && c.Eff&(effDestroy|effRenew|effSetLifetime) != 0 {
			return // may have ended it
		}
	}
	for _, c := range k.calls {
		if c.Eff&effDestroyOwner != 0 && c.Start < r.End {
			return // may have ended it, if it had an owner
		}
	}
	// The earliest it may have expired: its latest surely counted view
	// (served on it before r was answered) + idle - slack, or its deadline.
	idle, maxLife := shortest(visible(k.lifeValue(lifeIn{}), life, r.Start, r.End))
	var lastSure *call
	for _, c := range k.served[id] {
		if c != r && c.Start < r.End && (lastSure == nil || c.FakeStart > lastSure.FakeStart) {
			lastSure = c
		}
	}
	if lastSure == nil {
		return
	}
	earliest := min(lastSure.FakeStart+idle-slideSlack(idle), rootCreator.FakeStart+maxLife)
	if r.FakeEnd < earliest {
		k.report("2", "ended early", []*call{lastSure, r}, "session %s ended early: #%d sent it at fake %s and got a new session %s, but nothing ended it: its view #%d at fake %s keeps it alive until at least fake %s (idle %v − slack %v)",
			shortID(id), r.N, fmtD(r.FakeStart), shortID(r.ID), lastSure.N, fmtD(lastSure.FakeStart), fmtD(earliest), idle, slideSlack(idle))
	}
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
	for _, c := range k.calls {
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
			k.report("4", "popped twice", cs, "value %s popped by %d requests: %s", v, len(cs), strings.Join(ns, ", "))
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
		for _, c := range lin {
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
		if len(incrs) == 0 {
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
