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
// A [Store] is mechanism only: it reads a record and applies mutations
// atomically, under preconditions. Every rule about sessions is the
// [Manager]'s, the same for every store. What it guarantees:
//
//   - Only a canonical version 4 UUID is taken from the cookie; anything
//     else is no session. A visitor never chooses a session id or a
//     document path: unknown, ended and malformed ids get a new session
//     under a new random id. The store keeps a session under the SHA-256
//     of its id, never the id.
//   - Views are exact: concurrent requests of one session, on any
//     instance, each see a distinct count and none is lost. Within a
//     process they are coalesced into one store call per round; between
//     processes increments never conflict, so no instance waits for or
//     starves another. Routes that read the session without being a page
//     view ([Uncounted]) cost a read and count nothing.
//   - An ended session (idle, past its deadline, destroyed, renewed away,
//     ended by the cap or by a log-out elsewhere) is never served again by
//     any instance, and no write brings it back: a view changes only the
//     count, every other write of a session is conditional on the version
//     it read or on the session's existence, and a request that reads an
//     ended session deletes it at the version it read.
//   - A session ends between its idle timeout less a step (a hundredth of
//     it, at most a minute) and its idle timeout after its last request, or
//     at its absolute deadline, unless the store fails to take the move of
//     its expiry. The move is a write conditional on the version the view
//     saw, tried again on what is stored when another write came between,
//     and made before the handler in the session's last moments. The end is
//     the timestamp field expiresAt, ready for a Firestore TTL policy, and
//     an ended session is treated as absent even before TTL removes it.
//   - The cookie (HttpOnly, Secure, SameSite=Lax and Path=/ unless
//     configured, Max-Age = the time to the session's absolute deadline)
//     is sent only when it changes: for a new session it is in the
//     response headers before the handler runs, so it is sent even when
//     the handler flushes first; a Renew or Destroy, from any of the
//     handler's goroutines, sets it when the headers go. A response that
//     sets it is never cacheable, whatever the handler says; every session
//     response carries Vary: Cookie and, unless the handler relaxes it,
//     Cache-Control: no-store.
//   - Saves write only the keys the handler set or deleted, as field-level
//     updates, and only when something changed, before the response
//     starts, so a save that fails is answered as an error. Increment,
//     Modify, Pop and flash messages are read-modify-writes conditional on
//     the version the request read, atomic across requests and instances,
//     and stored when they return. Values may be structs, slices and maps,
//     stored as native Firestore fields ([GetAs] reads them back), and Set
//     refuses a change that would take the session past its limits
//     ([ErrTooLarge]), the same in every store, before the handler answers.
//   - Renew, Login and a rotation ([Config].RenewAfter) move the session to
//     a new id in one atomic write; requests of the session already under
//     way follow it, so their changes are kept and a racing Destroy ends
//     it under its new id too. New requests with the old id get a new
//     session (after [Config].RenewGrace, for a rotation).
//   - Each owner's list of sessions changes in the same atomic write as the
//     sessions, so it is exact on every instance: [Config].MaxOwnerSessions
//     holds however many instances log the owner in at once, and a log-out
//     of the owner's sessions ends one renewed meanwhile too.
//   - A write whose answer was lost is never sent again blindly: it is sent
//     again only if the record is still at the version it was made on, and
//     otherwise found done by reading the record, or reported as an error
//     wrapping [ErrUnavailable].
//   - Every store call has a deadline. When the store fails before the
//     handler, the handler is not called and the visitor gets the status of
//     [StatusCode] (503 for an outage) from a replaceable ErrorHandler; the
//     failure is logged with its kind (error_type). After a few outage
//     failures in a row, store calls fail fast until a probe finds the
//     store back.
//
// Beyond the tutorial: sign-in in one call ([Session.Login]), with an
// optional exact cap of sessions per user ([Config].MaxOwnerSessions);
// lazy sessions that cost nothing until the handler changes them
// ([Config].Lazy); sessions bound to an owner, listed and ended together
// from any instance ([Session.SetOwner], [Manager.OwnerSessions],
// [Manager.DestroyOwnerSessions], [Session.DestroyOthers]), whose ended
// devices learn why ([Session.PreviousEnd]); ids renewed on a timer
// ([Config].RenewAfter); a takeover of another system's sessions
// ([Config].Adopt); per-session lifetimes for remember-me and
// browser-session cookies ([Session.SetLifetime]); session tokens in a
// request header for API clients ([Config].TokenHeader), requests that do
// not count a view ([Uncounted]) and sessions used outside the middleware
// ([Manager.Load], [Manager.Shutdown]); these chosen per route on one
// Manager ([Manager.With]); atomic changes of one value
// ([Session.Increment], [Modify], [Session.Pop]); flash messages
// ([Session.AddFlash]); errors by sentinel with their HTTP status
// ([StatusCode]); OpenTelemetry spans and metrics.
//
// # Files
//
// store.go is the seam between the Manager and a store: [Store], [Record],
// [Attrs], [Mutation]. Above it, the Manager: manager.go (the Manager, its
// store calls, the resolving of lost answers, Shutdown), middleware.go (the
// request path), visit.go (a view: forwards, rotation, the move of the
// expiry), coalesce.go (concurrent views of a session in one store call),
// session.go (a session's state, values and saves), atomic.go (Increment,
// Modify, Pop, flash messages), retry.go (the turns and pauses of
// read-modify-writes), lifetime.go (Lifetime, SetLifetime, the expiry and
// its move), login.go (Renew, Login, Destroy, and the moves behind them),
// owners.go (owners' lists, SetOwner, the cap, OwnerSessions,
// DestroyOwnerSessions, DestroyOthers), adopt.go (Config.Adopt),
// detached.go (sessions outside the middleware), route.go (Manager.With
// and its route options), config.go, errors.go (the sentinels and
// StatusCode), id.go (ids and handles), cookie.go, limits.go, value.go
// (what Set accepts and how it is stored), telemetry.go. The stores are
// memory.go and firestore*.go.
package sessions
