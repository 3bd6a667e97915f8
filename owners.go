package sessions

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
	"unicode/utf8"
)

// The sessions of an owner are listed in a record of the owner's own,
// under ownerKey(owner): its values map each session's key to the
// session's deadline. Every change of who owns a session changes the list
// in the same atomic store write, conditional on the list's version, so
// that the list is exact however many instances change it at once: the
// cap of Config.MaxOwnerSessions and log-outs of all an owner's sessions
// decide on what the list holds, and a Renew, Login or Destroy that comes
// between makes them read it again. The list expires with the last
// deadline of its sessions.

// ownerKey returns the key of owner's list of sessions.
func ownerKey(owner string) string {
	sum := sha256.Sum256([]byte("owner:" + owner))
	return "owner-" + hex.EncodeToString(sum[:])
}

// maxOwnerBytes bounds an owner id.
const maxOwnerBytes = 1024

// SetOwner binds the session to owner, typically a user id at login
// ([Session.Login] does it together with Renew and SetLifetime), so that
// [Manager.OwnerSessions] lists it and [Manager.DestroyOwnerSessions] can
// end it from any instance; "" unbinds it. The change is stored at once,
// with the owner's list of sessions and within Config.MaxOwnerSessions,
// and changes the owner alone.
func (s *Session) SetOwner(ctx context.Context, owner string) error {
	if err := checkOwner(owner); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rebind(ctx, move{op: "change", owner: &owner})
}

// checkOwner reports whether owner can be a session's owner.
func checkOwner(owner string) error {
	if len(owner) > maxOwnerBytes || !utf8.ValidString(owner) {
		return fmt.Errorf("%w: an owner must be valid UTF-8 of at most %d bytes", ErrInvalidOwner, maxOwnerBytes)
	}
	return nil
}

// Owner returns the owner the session is bound to, "" for none.
func (s *Session) Owner() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rec.Owner
}

// Handle returns the session's public name (see [Handle]), "" for a lazy
// session that has no id yet.
func (s *Session) Handle() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.key
}

// listChanges returns the mutations of the owners' lists that moving a
// session from oldOwner, under key, to newOwner, under final, makes (final
// "": the session ends), reading the lists first. deadline is the
// session's; binding holds newOwner to Config.MaxOwnerSessions, ending
// its least recently used sessions or refusing with ErrTooManySessions.
func (m *Manager) listChanges(ctx context.Context, oldOwner, newOwner, key, final string, deadline time.Time, binding bool, now time.Time) ([]Mutation, error) {
	switch {
	case oldOwner == newOwner && (oldOwner == "" || key == final):
		return nil, nil
	case oldOwner == newOwner:
		return m.listChange(ctx, newOwner, key, final, deadline, false, now)
	}
	var ms []Mutation
	if oldOwner != "" {
		lm, err := m.listChange(ctx, oldOwner, key, "", time.Time{}, false, now)
		if err != nil {
			return nil, err
		}
		ms = append(ms, lm...)
	}
	if newOwner != "" && final != "" {
		lm, err := m.listChange(ctx, newOwner, key, final, deadline, binding, now)
		if err != nil {
			return nil, err
		}
		ms = append(ms, lm...)
	}
	return ms, nil
}

// listChange returns the mutations of owner's list that take key out of
// it and put final in (final "": none), with the session's deadline, and
// those that end the sessions the cap leaves no room for when capped.
func (m *Manager) listChange(ctx context.Context, owner, key, final string, deadline time.Time, capped bool, now time.Time) ([]Mutation, error) {
	lkey := ownerKey(owner)
	list, err := m.get(ctx, "owner", lkey)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	missing := err != nil
	listed := map[string]time.Time{}
	for k, v := range list.Values {
		if d, ok := v.(time.Time); ok && k != key && k != final && d.After(now) {
			listed[k] = d
		}
	}
	var ends []Mutation
	if max := m.cfg.MaxOwnerSessions; capped && max > 0 && final != "" && len(listed)+1 > max {
		keys := slices.Sorted(maps.Keys(listed))
		recs, errs := m.getAll(ctx, "owner", keys)
		type owned struct {
			key string
			rec Record
		}
		var live []owned
		for i, k := range keys {
			switch {
			case errors.Is(errs[i], ErrNotFound):
				delete(listed, k)
			case errs[i] != nil:
				return nil, errs[i]
			case !recs[i].live(now):
				delete(listed, k)
				ends = append(ends, fenceMutations(k, recs[i])...)
			default:
				live = append(live, owned{k, recs[i]})
			}
		}
		if extra := len(live) + 1 - max; extra > 0 {
			if m.cfg.RefuseExtraLogins {
				return nil, fmt.Errorf("%w: %d of %d", ErrTooManySessions, len(live), max)
			}
			// Least recently used first: a view moves the expiry to its
			// idle timeout after the view.
			slices.SortFunc(live, func(a, b owned) int {
				return cmp.Or(m.lastUsed(&a.rec).Compare(m.lastUsed(&b.rec)), cmp.Compare(a.key, b.key))
			})
			for _, o := range live[:extra] {
				delete(listed, o.key)
				ends = append(ends, endMutations(o.key, o.rec, EndedByLimit)...)
			}
		}
	}
	if final != "" {
		listed[final] = deadline
	}
	next := Mutation{Key: lkey, IfVersion: list.Version, Create: missing}
	if len(listed) == 0 {
		if missing {
			return ends, nil
		}
		next.Delete = true
		return append([]Mutation{next}, ends...), nil
	}
	values := make(map[string]any, len(listed))
	last := time.Time{}
	for k, d := range listed {
		values[k] = d
		if d.After(last) {
			last = d
		}
	}
	created := list.Created
	if missing {
		created = now
	}
	// The whole list is written: stale entries (sessions ended or gone)
	// leave it as it is read again.
	next.Set = values
	for k := range list.Values {
		if _, ok := listed[k]; !ok {
			next.Unset = append(next.Unset, k)
		}
	}
	slices.Sort(next.Unset)
	next.Attrs = &Attrs{Created: created, Expires: last, Deadline: last}
	return append([]Mutation{next}, ends...), nil
}

// lastUsed returns when the session rec was last used, as far as its
// expiry tells: its idle timeout before it.
func (m *Manager) lastUsed(rec *Record) time.Time {
	return rec.Expires.Add(-m.idle(rec.Idle))
}

// OwnerSessions returns the live sessions bound to owner (see
// [Session.SetOwner]), by handle (see [Handle]), for a page that lists a
// user's devices: the values show what the app stored at login (a user
// agent, say), Created and Expires when the session began and when it
// ends unless used, and the handle of the request's own is s.Handle(). It
// reads the owner's list and its sessions: two round trips.
func (m *Manager) OwnerSessions(ctx context.Context, owner string) (map[string]Record, error) {
	ctx, cancel := m.storeContext(ctx)
	defer cancel()
	list, err := m.get(ctx, "owner", ownerKey(owner))
	if errors.Is(err, ErrNotFound) {
		return map[string]Record{}, nil
	}
	if err != nil {
		return nil, wrap("owner sessions", err)
	}
	keys := slices.Sorted(maps.Keys(list.Values))
	recs, errs := m.getAll(ctx, "owner", keys)
	now := m.now()
	out := make(map[string]Record, len(keys))
	for i, k := range keys {
		switch {
		case errors.Is(errs[i], ErrNotFound):
		case errs[i] != nil:
			return nil, wrap("owner sessions", errs[i])
		case recs[i].live(now) && recs[i].Owner == owner:
			out[k] = recs[i]
		}
	}
	return out, nil
}

// DestroyOwnerSessions ends sessions bound to owner, wherever they are in
// use: those named by handles (see [Session.Handle]), or all of them when
// no handle is given. It reports how many live sessions it ended. Use it
// to log a user out everywhere after a password change or a lost device;
// the next request of an ended session gets a new session, whose
// [Session.PreviousEnd] is [EndedByLogout]. A session that a concurrent
// Renew or Login moves is ended under its new id too, and one that a
// concurrent Login binds to owner either is ended or was not yet bound.
//
// The calling request's own session is ended too when it is among them:
// call its Destroy as well, so its cookie is expired in the answer, or
// [Session.DestroyOthers] to keep it.
func (m *Manager) DestroyOwnerSessions(ctx context.Context, owner string, handles ...string) (int, error) {
	if owner == "" {
		return 0, fmt.Errorf("%w: DestroyOwnerSessions needs an owner", ErrInvalidOwner)
	}
	if handles != nil && len(handles) == 0 {
		return 0, nil // an empty list names no session; only no list means all
	}
	ctx, cancel := m.storeContext(ctx)
	defer cancel()
	n, err := m.endOwned(ctx, owner, handles, "")
	if err != nil {
		return n, wrap("destroy owner sessions", err)
	}
	return n, nil
}

// DestroyOthers ends the other sessions of the session's owner, and keeps
// this one: "log out my other devices". It reports how many it ended; a
// session without an owner has none.
func (s *Session) DestroyOthers(ctx context.Context) (int, error) {
	s.mu.Lock()
	owner, key := s.rec.Owner, s.key
	if err := s.changeable(); err != nil {
		s.mu.Unlock()
		return 0, err
	}
	s.mu.Unlock()
	if owner == "" || key == "" {
		return 0, nil
	}
	ctx, cancel := s.mgr.storeContext(ctx)
	defer cancel()
	n, err := s.mgr.endOwned(ctx, owner, nil, key)
	if err != nil {
		return n, wrap("destroy others", err)
	}
	return n, nil
}

// maxEndsPerWrite bounds the sessions one store write ends (two mutations
// each, within Firestore's 500 writes a Commit).
const maxEndsPerWrite = 100

// endOwned ends the sessions in owner's list named by handles (nil: all)
// but except, in store writes conditional on the list's version.
func (m *Manager) endOwned(ctx context.Context, owner string, handles []string, except string) (int, error) {
	n, lkey := 0, ownerKey(owner)
	for try := 0; try < maxTries; try++ {
		list, err := m.get(ctx, "owner", lkey)
		if errors.Is(err, ErrNotFound) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		var targets []string
		for _, k := range slices.Sorted(maps.Keys(list.Values)) {
			if k != except && (handles == nil || slices.Contains(handles, k)) {
				targets = append(targets, k)
			}
		}
		if len(targets) == 0 {
			return n, nil
		}
		targets = targets[:min(len(targets), maxEndsPerWrite)]
		recs, errs := m.getAll(ctx, "owner", targets)
		now := m.now()
		var ms []Mutation
		ended := 0
		for i, k := range targets {
			switch {
			case errors.Is(errs[i], ErrNotFound):
			case errs[i] != nil:
				return n, errs[i]
			case recs[i].live(now):
				ended++
				ms = append(ms, endMutations(k, recs[i], EndedByLogout)...)
			default:
				ms = append(ms, fenceMutations(k, recs[i])...)
			}
		}
		listed := Mutation{Key: lkey, IfVersion: list.Version, Unset: targets}
		if len(targets) == len(list.Values) {
			listed = Mutation{Key: lkey, IfVersion: list.Version, Delete: true}
		}
		_, err = m.commit(ctx, "owner", append([]Mutation{listed}, ms...)...)
		switch {
		case err == nil:
			n += ended
			try = -1 // on to the next batch, if any, with tries anew
			continue
		case errors.Is(err, ErrConflict), errors.Is(err, ErrNotFound), errors.Is(err, ErrExists), errors.Is(err, ErrUnavailable) && ctx.Err() == nil:
			// The list or a session changed meanwhile, or the answer was
			// lost: read the list again, and end what it still holds.
		default:
			return n, err
		}
		if err := pause(ctx, try); err != nil {
			return n, fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
	}
	return n, fmt.Errorf("%w: the owner's sessions kept changing (%d tries)", ErrConflict, maxTries)
}
