package sessions

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Errors of this package. The errors of sessions and of store calls wrap
// one of them, and their cause too, so that errors.Is sees both;
// [StatusCode] turns them into the HTTP status to answer. A handler never
// needs a database's own error codes. Two kinds wrap none: the errors of
// the application's own functions (OnCreate, Config.Adopt, the f of
// [Modify]), and a store's failures that are neither an outage nor a
// refused precondition (a missing database, a permission denied), which
// StatusCode answers with 500.
var (
	// ErrUnavailable means the store is down or too slow: it did not answer
	// within Config.Timeout, could not be reached, or the middleware is
	// failing fast after several such failures in a row (until a probe
	// finds the store back). A change that failed with it may or may not
	// have been stored. Answer 503 and let the client try again.
	ErrUnavailable = errors.New("sessions: store unavailable")
	// ErrNotFound means no live session is stored under an id
	// ([Manager.Load]), or, from a [Store], no record under a key.
	ErrNotFound = errors.New("sessions: session not found")
	// ErrInactive means the session can no longer be changed: it was
	// destroyed, ended meanwhile (by another request, its lifetime, a
	// log-out elsewhere), or its request has ended.
	ErrInactive = errors.New("sessions: session is no longer active")
	// ErrConflict means the session kept changing while a change was
	// retried, or, from a [Store], that a record is at another version
	// than a mutation required.
	ErrConflict = errors.New("sessions: session changed meanwhile")
	// ErrExists means, from a [Store], that a record is already stored
	// under a key.
	ErrExists = errors.New("sessions: record already exists")
	// ErrTooManySessions means a Login was refused because its owner has
	// Config.MaxOwnerSessions live sessions already.
	ErrTooManySessions = errors.New("sessions: too many sessions for this owner")
	// ErrHeadersWritten means a change that needs a new cookie (Renew,
	// Login, Destroy, SetLifetime, a lazy session's first change) came
	// after the response headers were sent.
	ErrHeadersWritten = errors.New("sessions: response headers already written")
	// ErrInvalidKey means a value key is empty, not valid UTF-8, or of the
	// form __name__ (reserved by Firestore).
	ErrInvalidKey = errors.New("sessions: invalid value key")
	// ErrInvalidOwner means an owner is not valid UTF-8 or longer than
	// 1,024 bytes.
	ErrInvalidOwner = errors.New("sessions: invalid owner")
	// ErrInvalidLifetime means a Lifetime's Idle or Max is negative or
	// under a second.
	ErrInvalidLifetime = errors.New("sessions: invalid lifetime")
	// ErrTooLarge means a change would take a session past one of
	// Firestore's limits (see [MaxDocumentBytes]), or an integer past
	// int64. Session.Set reports it before the handler answers, whatever
	// the store.
	ErrTooLarge = errors.New("sessions: value exceeds a Firestore limit")
	// ErrUnsupportedType means a value cannot be stored: see Session.Set.
	ErrUnsupportedType = errors.New("sessions: unsupported value type")
	// ErrWrongType means a stored value is not of the type an operation
	// needs: GetAs's T, or an integer for Increment.
	ErrWrongType = errors.New("sessions: value of another type")
)

// StatusCode returns the HTTP status with which a handler answers err, an
// error of this package: 200 for nil, 503 for [ErrUnavailable] and
// [ErrConflict] (try again), 400 for invalid input ([ErrInvalidKey],
// [ErrInvalidOwner], [ErrUnsupportedType]), 413 for [ErrTooLarge], 409
// for [ErrWrongType], [ErrTooManySessions] and [ErrInactive] (the session
// is not in a state for the change), 404 for [ErrNotFound], and 500 for the rest, which are
// mistakes of the program ([ErrHeadersWritten], [ErrInvalidLifetime]) or
// unknown errors.
func StatusCode(err error) int {
	switch {
	case err == nil:
		return http.StatusOK
	case errors.Is(err, ErrUnavailable), errors.Is(err, ErrConflict), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable
	case errors.Is(err, ErrInvalidKey), errors.Is(err, ErrInvalidOwner), errors.Is(err, ErrUnsupportedType):
		return http.StatusBadRequest
	case errors.Is(err, ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrWrongType), errors.Is(err, ErrTooManySessions), errors.Is(err, ErrInactive):
		return http.StatusConflict
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	}
	return http.StatusInternalServerError
}

// errorClass names the sentinel that err wraps, for logs and metrics:
// "ok" for nil.
func errorClass(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, ErrUnavailable):
		return "unavailable"
	case errors.Is(err, ErrNotFound):
		return "not_found"
	case errors.Is(err, ErrConflict):
		return "conflict"
	case errors.Is(err, ErrExists):
		return "exists"
	case errors.Is(err, ErrInactive):
		return "inactive"
	}
	return "error"
}

// wrap returns err with the operation that failed, prefixed by the package
// name once: an error from this package names it already, and keeps its
// own text.
func wrap(op string, err error) error {
	if strings.HasPrefix(err.Error(), "sessions: ") {
		return err
	}
	return fmt.Errorf("sessions: %s: %w", op, err)
}

// errStoreTimeout is the cause of a store context's end by Config.Timeout.
var errStoreTimeout = errors.New("sessions: the store did not answer within Config.Timeout")

// errUnknownOutcome is the cause of an error for a write whose answer was
// lost and whose effect cannot be told apart from other writes' since.
var errUnknownOutcome = fmt.Errorf("%w: the store's answer was lost, and whether the change was stored is unknown", ErrUnavailable)
