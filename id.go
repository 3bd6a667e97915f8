package sessions

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"

	"github.com/google/uuid"
)

// A session id is a random version 4 UUID, chosen by the server; the store
// keeps the session under its handle, the SHA-256 of the id.

// parseID returns the session id carried by value, which must be a
// canonical lower-case version 4 UUID (RFC 9562): 36 characters,
// xxxxxxxx-xxxx-4xxx-Yxxx-xxxxxxxxxxxx with x a lower-case hex digit and Y
// one of 8, 9, a, b. Anything else (empty, paths, dots, reserved names, long
// or binary values, upper case) is no session id, so that no value a
// visitor chose can reach a document path. It allocates nothing.
func parseID(value string) (string, bool) {
	if len(value) != 36 {
		return "", false
	}
	for i := 0; i < len(value); i++ {
		c := value[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return "", false
			}
		case 14:
			if c != '4' {
				return "", false
			}
		case 19:
			if c != '8' && c != '9' && c != 'a' && c != 'b' {
				return "", false
			}
		default:
			if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
				return "", false
			}
		}
	}
	return value, true
}

// requestID returns the first well-formed session id among the request's
// cookies named name. It reads the Cookie headers as net/http does
// (pairs separated by ";", surrounding spaces and a value's double quotes
// ignored) but without allocating.
func requestID(r *http.Request, name string) (string, bool) {
	for _, line := range r.Header["Cookie"] {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
			if !ok || k != name {
				continue
			}
			if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			if id, ok := parseID(v); ok {
				return id, true
			}
		}
	}
	return "", false
}

// newID returns a fresh random session id: a version 4 UUID whose 122
// random bits come from crypto/rand, not from uuid's source, which any
// package in the process may replace with uuid.SetRand.
func newID() string {
	var id uuid.UUID
	rand.Read(id[:])          // never fails
	id[6] = id[6]&0x0f | 0x40 // version 4
	id[8] = id[8]&0x3f | 0x80 // RFC 9562 variant
	return id.String()
}

// Handle returns the public name of session id: the SHA-256 (hex) of the
// id, under which the store keeps the session (its Firestore document id).
// A handle can be shown to the session's owner and sent back to end the
// session, but cannot be used as a session cookie.
func Handle(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}
