package sessions

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/uuid"
)

func TestParseID(t *testing.T) {
	good := uuid.NewString()
	if id, ok := parseID(good); !ok || id != good {
		t.Errorf("parseID(%q) = %q %v", good, id, ok)
	}
	for _, bad := range hostileCookies {
		if id, ok := parseID(bad); ok {
			t.Errorf("parseID(%q) accepted %q", truncate(bad, 50), id)
		}
	}
}

func TestRequestIDTakesTheFirstValidCookie(t *testing.T) {
	id := uuid.NewString()
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Add("Cookie", "session_id=../x; other=1")
	r.Header.Add("Cookie", "session_id="+id+"; session_id="+uuid.NewString())
	if got, ok := requestID(r, "session_id"); !ok || got != id {
		t.Errorf("requestID = %q %v, want %q", got, ok, id)
	}
}

// FuzzRequestID feeds arbitrary Cookie headers to the parser: it must never
// panic, and whatever id it accepts must be a canonical version 4 UUID, safe
// as a document id.
func FuzzRequestID(f *testing.F) {
	for _, v := range hostileCookies {
		f.Add("session_id=" + v)
	}
	f.Add("session_id=" + uuid.NewString())
	f.Add("a=b; session_id=" + uuid.NewString() + "; session_id=x")
	f.Fuzz(func(t *testing.T, header string) {
		r := &http.Request{Header: http.Header{"Cookie": {header}}}
		id, ok := requestID(r, "session_id")
		if !ok {
			return
		}
		u, err := uuid.Parse(id)
		if err != nil || u.Version() != 4 || u.String() != id || strings.ContainsAny(id, "/._ ") || !strings.Contains(header, id) {
			t.Fatalf("accepted %q from %q", id, header)
		}
	})
}

// Ids do not come from uuid's random source, which any package may replace.
func TestNewIDIgnoresUUIDRand(t *testing.T) {
	uuid.SetRand(zeros{}) // every uuid.New would be the same now
	defer uuid.SetRand(nil)
	a, b := newID(), newID()
	if _, okA := parseID(a); a == b || !okA {
		t.Errorf("ids %s, %s: want two distinct valid ids", a, b)
	}
	if _, okB := parseID(b); !okB {
		t.Errorf("ids %s, %s: want two distinct valid ids", a, b)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
