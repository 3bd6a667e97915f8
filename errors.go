package sessions

import (
	"errors"
	"fmt"
	"strings"
)

// Errors reported by stores and sessions. Errors returned by this package
// wrap them, and the store's own cause too, so errors.Is and status.Code (for
// Firestore's gRPC errors) see through the wrapping.
var (
	// ErrNotFound means no live session is stored under an id.
	ErrNotFound = errors.New("sessions: session not found")
	// ErrExists means a session is already stored under an id.
	ErrExists = errors.New("sessions: session already exists")
	// ErrConflict means a conditional change found the session changed
	// since the version it was conditioned on (see [Change].IfVersion). The
	// Session's atomic operations retry on it; a store's caller of its own
	// reads the session again.
	ErrConflict = errors.New("sessions: session changed meanwhile")
	// ErrTooManySessions means a Login was refused because its owner has
	// Config.MaxOwnerSessions live sessions already.
	ErrTooManySessions = errors.New("sessions: too many sessions for this owner")
	// ErrHeadersWritten means a session change that needs a new cookie
	// (Renew, Destroy) came after the response headers were sent.
	ErrHeadersWritten = errors.New("sessions: response headers already written")
	// ErrInactive means the session can no longer be changed: it was
	// destroyed, or its request has ended and its changes were saved.
	ErrInactive = errors.New("sessions: session is no longer active")
	// ErrInvalidKey means a value key is empty, not valid UTF-8, or of the
	// form __name__ (reserved by Firestore).
	ErrInvalidKey = errors.New("sessions: invalid value key")
	// ErrUnavailable is what Config.ErrorHandler gets while the middleware
	// fails fast: the store has been unreachable or too slow for several
	// requests in a row, and requests get their 503 at once instead of
	// waiting for it again, until a probe finds it back.
	ErrUnavailable = errors.New("sessions: store unavailable, failing fast")
	// ErrTooLarge means a change would take a session's document past one of
	// Firestore's limits: MaxDocumentBytes, 20,000 fields, field paths of
	// 1,499 bytes, or 20 levels of nested maps and arrays. Session.Set reports it before the
	// handler answers, whatever the store.
	ErrTooLarge = errors.New("sessions: value exceeds a Firestore document limit")
	// ErrUnsupportedType means a value cannot be stored: see Session.Set.
	ErrUnsupportedType = errors.New("sessions: unsupported value type")
	// ErrWrongType means a stored value does not fit the Go type GetAs was
	// asked to read it into.
	ErrWrongType = errors.New("sessions: value of another type")
)

// wrap returns err with the operation that failed, prefixed by the package
// name once: an error from this package's stores names it already, and
// keeps its own text.
func wrap(op string, err error) error {
	if strings.HasPrefix(err.Error(), "sessions: ") {
		return err
	}
	return fmt.Errorf("sessions: %s: %w", op, err)
}
