package sessions

import (
	"fmt"
	"net/http"
	"testing"
)

// GetFloat reads a stored integer as a float, as GetAs[float64] does: a
// number set as 3 is 3.0 to a reader that wants a float, in the request
// that set it and in later ones, in every store.
func TestGetFloatAcceptsAnInteger(t *testing.T) {
	eachStore(t, func(t *testing.T, st Store) {
		h := newManager(t, st, Config{}).Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, _ := FromContext(r.Context())
			if r.URL.Path == "/set" {
				if err := s.Set("n", 3); err != nil {
					t.Fatal(err)
				}
			}
			f, ok := s.GetFloat("n")
			g, gok, err := GetAs[float64](s, "n")
			fmt.Fprintf(w, "GetFloat %v %v, GetAs %v %v %v", f, ok, g, gok, err)
		}))
		v := &visitor{t: t, h: h}
		want := "GetFloat 3 true, GetAs 3 true <nil>"
		if got := v.get("/set").body; got != want {
			t.Errorf("in the request that set it: %s; want %s", got, want)
		}
		if got := v.get("/").body; got != want {
			t.Errorf("in a later request: %s; want %s", got, want)
		}
	})
}
