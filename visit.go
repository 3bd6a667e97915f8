package sessions

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// maxForwards bounds the forwards a visit follows: a rotation's grace leads
// to the session's new key, which leads nowhere else.
const maxForwards = 1

// visit counts views views of the session under key in one store write
// (none: reads it, for an Uncounted route), and decides what the visit
// finds: a forward to follow during a rotation's grace, an ended session
// (ErrNotFound), a rotation due (Config.RenewAfter), an expiry to move.
// The coalescer calls it once for a batch of views.
func (m *Manager) visit(ctx context.Context, key string, views int64) (visited, error) {
	vis := visited{key: key}
	for hop := 0; ; hop++ {
		var err error
		if views > 0 {
			var res []Record
			res, err = m.commit(ctx, "visit", Mutation{Key: vis.key, AddViews: views})
			if err == nil {
				vis.rec, vis.n = res[0], res[0].Views
				m.tel.batch.Record(ctx, views)
				m.tel.views.Add(ctx, views)
			}
		} else {
			vis.rec, err = m.get(ctx, "read", vis.key)
			vis.n = vis.rec.Views
		}
		if err != nil {
			return vis, notFoundOr(err)
		}
		if hop < maxForwards && m.forwards(&vis.rec) {
			vis.key = vis.rec.MovedTo
			continue
		}
		break
	}
	now := storeTime(m.now())
	rec := &vis.rec
	switch {
	case rec.Ended != "":
		vis.ended = rec.Ended
		return vis, fmt.Errorf("%w: the session ended", ErrNotFound)
	case !rec.live(now):
		if views == 0 {
			m.fence(ctx, vis.key, *rec) // a read does not write: fence it
		}
		return vis, fmt.Errorf("%w: the session ended", ErrNotFound)
	case m.cfg.RenewAfter > 0 && vis.key == key && now.Sub(renewed(rec)) >= m.cfg.RenewAfter:
		return m.rotate(ctx, vis, now)
	}
	if _, due := m.slideTarget(rec, now); due {
		if rec.Expires.Sub(now) >= m.lastMoments(rec) {
			vis.slide = m.startSlide(ctx, vis.key, *rec, now)
			return vis, nil
		}
		// Its last moments: move the expiry before the handler runs, so
		// that a session served is never found ended by the next request.
		next, err := m.slide(ctx, vis.key, *rec, now)
		switch {
		case errors.Is(err, errEnded):
			return vis, fmt.Errorf("%w: the session ended", ErrNotFound)
		case err != nil:
			return vis, err
		}
		vis.rec = next
	}
	return vis, nil
}

// forwards reports whether rec is what a rotation left under the old id,
// in its grace period: its visits go on to the session's new key.
func (m *Manager) forwards(rec *Record) bool {
	return rec.MovedTo != "" && rec.Ended == "" && m.now().Before(rec.Expires)
}

// notFoundOr returns err, wrapped for a visit unless it is ErrNotFound.
func notFoundOr(err error) error {
	if errors.Is(err, ErrNotFound) {
		return err
	}
	return wrap("visit", err)
}

// rotate gives the session that vis found, due for renewal at now, a new
// id (see Config.RenewAfter): as Renew does, but the old id leads to the
// new key for Config.RenewGrace. When another instance rotated it first,
// the visit goes on to where it went.
func (m *Manager) rotate(ctx context.Context, vis visited, now time.Time) (visited, error) {
	id := newIDFunc()
	target := Handle(id)
	rec := vis.rec
	mv := move{op: "rename", rename: true, grace: m.cfg.RenewGrace}
	for try := 0; ; try++ {
		next, err := m.commitMove(ctx, vis.key, rec, target, mv, now)
		if errors.Is(err, ErrUnavailable) && ctx.Err() == nil {
			next, err = m.resolveMove(ctx, vis.key, rec, target, mv, now)
		}
		switch {
		case err == nil && !next.live(m.now()):
			// Found by a read after a lost answer: something ended the
			// session under its new id meanwhile.
			return vis, fmt.Errorf("%w: the session ended", ErrNotFound)
		case err == nil:
			return visited{key: target, rec: next, n: vis.n, newID: id}, nil
		case !errors.Is(err, ErrConflict) && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrExists):
			return vis, wrap("rotate", err)
		case try+1 == maxTries:
			return vis, fmt.Errorf("%w: rotate: the session kept changing (%d tries): %w", ErrConflict, maxTries, err)
		}
		// Changed meanwhile: by another instance's rotation (go where it
		// went), a view, or its end.
		fresh, err := m.get(ctx, "read", vis.key)
		if err != nil {
			return vis, notFoundOr(err)
		}
		if m.forwards(&fresh) {
			moved, err := m.get(ctx, "read", fresh.MovedTo)
			if err != nil {
				return vis, notFoundOr(err)
			}
			if !moved.live(m.now()) {
				return vis, fmt.Errorf("%w: the session ended", ErrNotFound)
			}
			return visited{key: fresh.MovedTo, rec: moved, n: vis.n}, nil
		}
		if !fresh.live(m.now()) {
			return vis, fmt.Errorf("%w: the session ended", ErrNotFound)
		}
		rec = fresh
		if err := pause(ctx, try); err != nil {
			return vis, fmt.Errorf("%w: rotate: %w", ErrUnavailable, err)
		}
	}
}

// renewed returns when the session rec got its id: a record of a version
// that did not keep it says its creation.
func renewed(rec *Record) time.Time {
	if rec.Renewed.IsZero() {
		return rec.Created
	}
	return rec.Renewed
}
