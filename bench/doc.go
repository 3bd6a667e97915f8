// Package bench holds the benchmarks of github.com/firestore-sessions/sessions
// in a module of their own, so that the peers compared against (scs, gorilla)
// and the load tooling never enter the library's requirements.
//
// The micro-benchmarks (micro_test.go) compare the middleware's overhead with
// the in-memory store against alexedwards/scs and gorilla/sessions; the load
// runner (cmd/load) drives the greeter and a port of the Firestore sessions
// tutorial against the Firestore emulator; cmd/report runs both and writes
// BENCHMARKS.md. See README.md.
package bench
