// Package gorillaexample shows an app that kept its sessions with
// gorilla/sessions (github.com/gorilla/sessions) move to the sessions
// middleware without losing its visitors' sessions. Config.Adopt reads a
// visitor's gorilla session with the app's old store, and the new session
// starts with its values, bound to its user, in the same write that
// creates it; the answer expires the gorilla cookie. Keep the old store's
// keys configured until the gorilla cookies have expired.
package gorillaexample
