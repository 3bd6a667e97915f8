package sessions

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"sync"
)

// responseWriter holds the cookie changes of a request until its headers
// are sent. Renew and Destroy may be called from any of the handler's
// goroutines, while the handler's own goroutine sets other headers: they
// stage their cookie here, and the goroutine that sends the headers (the
// first WriteHeader, Write, Flush or Hijack, or the middleware after the
// handler) applies it to the header map, so only that goroutine touches it.
// Once the headers are sent, a staged change is refused: Renew and Destroy
// report [ErrHeadersWritten].
//
// It keeps the optional interfaces of the writer it wraps: Flush and Hijack
// directly, everything else through Unwrap and http.ResponseController.
//
// Before the headers go, it saves the changes of the request's session
// (s, when set); if that fails, the Manager's ErrorHandler answers the
// request with the error on the wrapped writer instead, and what the
// handler writes after is discarded.
type responseWriter struct {
	http.ResponseWriter
	beforeSend func(http.Header) // the last look at the headers before they go
	s          *Session          // saved before the headers go; nil: none
	r          *http.Request     // its request

	mu     sync.Mutex
	wrote  bool
	failed bool // flush failed: the handler's response is discarded
	staged []func(http.Header)
}

// stage queues a change of the headers for when they are sent, and reports
// false when they are sent already.
func (w *responseWriter) stage(f func(http.Header)) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.wrote {
		return false
	}
	w.staged = append(w.staged, f)
	return true
}

// commit runs flush, applies the staged changes and marks the headers
// sent; it does nothing after the first time. It reports whether the
// handler's response goes out: false once flush failed.
func (w *responseWriter) commit() bool {
	w.mu.Lock()
	s := w.s
	w.s = nil
	w.mu.Unlock()
	var err error
	if s != nil {
		err = s.mgr.saveEarly(w.r, s) // unlocked: it takes the session's lock, which Renew holds while it stages
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.wrote {
		return !w.failed
	}
	w.wrote = true
	h := w.ResponseWriter.Header()
	for _, f := range w.staged {
		f(h)
	}
	w.staged = nil
	if w.beforeSend != nil {
		w.beforeSend(h)
	}
	if err != nil {
		w.failed = true
		s.mgr.cfg.ErrorHandler(w.ResponseWriter, w.r, err)
	}
	return !w.failed
}

// errDiscarded is what the handler's writes get after its changes could
// not be saved and the request was answered with the error instead.
var errDiscarded = errors.New("sessions: the session could not be saved: the response was answered with the error")

func (w *responseWriter) WriteHeader(code int) {
	if (code >= 200 || code == http.StatusSwitchingProtocols) && !w.commit() {
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(b []byte) (int, error) {
	if !w.commit() {
		return 0, errDiscarded
	}
	return w.ResponseWriter.Write(b)
}

// Flush sends the headers and any buffered body, as http.Flusher.
func (w *responseWriter) Flush() {
	if w.commit() {
		_ = http.NewResponseController(w.ResponseWriter).Flush()
	}
}

// Hijack hands over the connection, as http.Hijacker.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if !w.commit() {
		return nil, nil, errDiscarded
	}
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// Unwrap returns the wrapped writer, for http.ResponseController.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *responseWriter) wroteHeader() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.wrote
}
