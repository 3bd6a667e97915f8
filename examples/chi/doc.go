// Package chiexample shows the sessions middleware on a chi router
// (github.com/go-chi/chi/v5), whose Use takes func(http.Handler)
// http.Handler, the type of the Middleware method, as it is.
package chiexample
