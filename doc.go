// Package sessions keeps server-side HTTP sessions in Google Cloud
// Firestore, as net/http middleware, so that every instance of an app on
// App Engine or Cloud Run sees the same sessions.
//
// It is Google's tutorial "Handling sessions with Firestore" made into a
// library: before the handler runs, the middleware reads the session id
// from the cookie, loads the session and counts the view in one Firestore
// transaction (creating the session, under a new id the server chooses,
// when there is none), and puts the session into the request context;
// after the handler, it saves the values the handler changed.
//
// The transaction is run optimistically, as Firestore's own web and mobile
// SDKs run theirs: read the session, then commit the new count with a
// precondition that the document's update time is still the one read. A
// transaction's promise is that its write applies to exactly the state it
// read, or not at all; the precondition makes Firestore check exactly that,
// atomically, at commit, and refuse the write when anything changed the
// session in between, in which case the store reads again. So no view is
// lost or counted twice, as in the tutorial's locking transaction, but
// nothing is locked: no instance waits for another's lock, and none that
// dies mid-way leaves one behind. Because the version is the proof, the
// store can keep the records it last saw in memory and skip the read: a
// returning visitor's view on a warm instance is one Commit, one round trip
// (the tutorial's transaction takes three). See [FirestoreStore].
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
//   - Views are exact: concurrent requests of one session each see a
//     distinct count and none is lost. Within a process they are coalesced
//     into one store call per round; between processes, a refused
//     conditional commit is retried on a fresh read, and then falls back to
//     an atomic increment, so no instance starves another and none waits.
//   - The cookie (HttpOnly, Secure, SameSite=Lax and Path=/ unless
//     configured, Max-Age = the time to the session's absolute deadline) is sent only when it
//     changes: for a new session it is in the response headers before the
//     handler runs, so it is sent even when the handler flushes first; a
//     Renew or Destroy, from any of the handler's goroutines, sets it when
//     the headers go. A response that sets it is never cacheable, whatever
//     the handler says; every session response carries Vary: Cookie and,
//     unless the handler relaxes it, Cache-Control: no-store.
//   - Saves write only the keys the handler set or deleted, as field-level
//     updates, and only when something changed. Values may be structs,
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
// Beyond the tutorial: lazy sessions that cost nothing until the handler
// changes them ([Config].Lazy); sessions bound to an owner, listed and
// ended together from any instance ([Session.SetOwner],
// [Manager.DestroyOwnerSessions]); per-session lifetimes for remember-me
// and browser-session cookies ([Session.SetLifetime]); session tokens in a
// request header for API clients ([Config].TokenHeader) and sessions used
// outside the middleware ([Manager.Load]); both chosen per route on one
// Manager ([Manager.With]); flash messages ([Session.AddFlash]);
// OpenTelemetry spans and metrics.
package sessions
