package sessions

import (
	"bufio"
	"net"
	"net/http"
	"sync/atomic"
)

// responseWriter notes when the response headers are sent, so that Renew and
// Destroy can tell whether a new cookie can still reach the browser. It keeps
// the optional interfaces of the writer it wraps: Flush and Hijack directly,
// everything else through Unwrap and http.ResponseController.
type responseWriter struct {
	http.ResponseWriter
	wrote atomic.Bool
}

func (w *responseWriter) WriteHeader(code int) {
	if code >= 200 || code == http.StatusSwitchingProtocols {
		w.wrote.Store(true)
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(b []byte) (int, error) {
	w.wrote.Store(true)
	return w.ResponseWriter.Write(b)
}

// Flush sends the headers and any buffered body, as http.Flusher.
func (w *responseWriter) Flush() {
	w.wrote.Store(true)
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack hands over the connection, as http.Hijacker.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil {
		w.wrote.Store(true)
	}
	return conn, rw, err
}

// Unwrap returns the wrapped writer, for http.ResponseController.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *responseWriter) wroteHeader() bool { return w.wrote.Load() }
