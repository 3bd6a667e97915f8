// Package sessions keeps server-side HTTP sessions in Google Cloud
// Firestore, as net/http middleware, so that every instance of an app on
// App Engine or Cloud Run sees the same sessions.
//
// It is Google's tutorial "Handling sessions with Firestore" made into a
// library: before the handler runs, the middleware reads the session id
// from the cookie, loads the session and counts the view in one Firestore
// write (creating the session, under a new id the server chooses, when
// there is none), and puts the session into the request context; before
// the response goes, it saves the values the handler changed.
//
// The tutorial's transaction (read, increment, write, holding a lock) is
// replaced by one write that cannot conflict: Firestore's atomic increment
// of the view count, which also reads back, in the same Commit, the new
// count and a counter of the session's other changes, so that a store that
// keeps sessions in memory knows at once whether its copy is still current.
// No view is lost or counted twice, nothing is locked, and a returning
// visitor's view is one Commit, one round trip, on whichever instance
// serves it (the tutorial's transaction takes three). See [FirestoreStore]
// and the repository's docs/semantics.md.
//
//	store, err := sessions.OpenFirestore(ctx, firestore.DetectProjectID, sessions.FirestoreConfig{})
//	...
//	m, err := sessions.New(store, sessions.Config{})
//	...
//	http.ListenAndServe(":8080", alice.New(m.Middleware).Then(app))
//
// and in a handler:
//
//	s, _ := sessions.FromContext(r.Context())
//	fmt.Fprintf(w, "%d views", s.Views())
//	err := s.Set("cart_items", 3)
//
// What it guarantees:
//
//   - Only a canonical version 4 UUID is taken from the cookie; anything
//     else is no session. A visitor never chooses a session id or a
//     document path: unknown, expired and malformed ids get a new session
//     under a new random id.
//   - Views are exact: concurrent requests of one session, on any
//     instance, each see a distinct count and none is lost. Within a
//     process they are coalesced into one store call per round; between
//     processes increments never conflict, so no instance waits for or
//     starves another.
//   - An ended session (idle, past its deadline, destroyed, renewed away,
//     logged out everywhere) is never served again by any instance, and no
//     write brings it back: views leave the expiry alone, and the Manager
//     slides it by a write conditional on the version a view saw.
//   - The cookie (HttpOnly, Secure, SameSite=Lax and Path=/ unless
//     configured, Max-Age = the time to the session's absolute deadline) is sent only when it
//     changes: for a new session it is in the response headers before the
//     handler runs, so it is sent even when the handler flushes first; a
//     Renew or Destroy, from any of the handler's goroutines, sets it when
//     the headers go. A response that sets it is never cacheable, whatever
//     the handler says; every session response carries Vary: Cookie and,
//     unless the handler relaxes it, Cache-Control: no-store.
//   - Saves write only the keys the handler set or deleted, as field-level
//     updates, and only when something changed, before the response
//     starts, so a save that fails is answered as an error. Increment,
//     Modify, Pop and flash messages are atomic across requests and
//     instances, and stored when they return. Values may be structs,
//     slices and maps, stored as native Firestore fields ([GetAs] reads
//     them back), and Set refuses a change that would pass one of
//     Firestore's document limits ([ErrTooLarge]), in every store, before
//     the handler answers.
//   - Sessions end after an idle timeout (sliding) and an absolute
//     lifetime; the end is the timestamp field expiresAt, ready for a
//     Firestore TTL policy, and an ended session is treated as absent even
//     before TTL removes it.
//   - Every store call has a deadline. When the store fails before the
//     handler, the handler is not called and the visitor gets 503 from a
//     replaceable ErrorHandler; the failure is logged with its gRPC code.
//
// Beyond the tutorial: sign-in in one call ([Session.Login]), with an
// optional cap of sessions per user ([Config].MaxOwnerSessions); lazy
// sessions that cost nothing until the handler changes them
// ([Config].Lazy); sessions bound to an owner, listed and ended together
// from any instance ([Session.SetOwner], [Manager.DestroyOwnerSessions]); per-session lifetimes for remember-me
// and browser-session cookies ([Session.SetLifetime]); session tokens in a
// request header for API clients ([Config].TokenHeader) and sessions used
// outside the middleware ([Manager.Load]); both chosen per route on one
// Manager ([Manager.With]); atomic changes of one value
// ([Session.Increment], [Modify], [Session.Pop]); flash messages
// ([Session.AddFlash]); OpenTelemetry spans and metrics.
//
// # Files
//
// session.go holds a session's state and values; each other capability of
// a Session or Manager has a file named for it: atomic.go, login.go
// (Renew, Login, Destroy), lifetime.go, owners.go, detached.go (sessions
// outside the middleware), route.go (Manager.With). The stores are
// store.go (the interface), memory.go and firestore*.go.
package sessions
