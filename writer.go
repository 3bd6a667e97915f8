package sessions

import (
	"bufio"
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
type responseWriter struct {
	http.ResponseWriter
	beforeSend func(http.Header) // the last look at the headers before they go

	mu     sync.Mutex
	wrote  bool
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

// commit applies the staged changes and marks the headers sent; it does
// nothing after the first time.
func (w *responseWriter) commit() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.wrote {
		return
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
}

func (w *responseWriter) WriteHeader(code int) {
	if code >= 200 || code == http.StatusSwitchingProtocols {
		w.commit()
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(b []byte) (int, error) {
	w.commit()
	return w.ResponseWriter.Write(b)
}

// Flush sends the headers and any buffered body, as http.Flusher.
func (w *responseWriter) Flush() {
	w.commit()
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack hands over the connection, as http.Hijacker.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.commit()
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// Unwrap returns the wrapped writer, for http.ResponseController.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *responseWriter) wroteHeader() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.wrote
}
