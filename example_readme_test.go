package sessions_test

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"

	"github.com/firestore-sessions/sessions"
)

// The README's program on the memory store, visited twice by a client that
// keeps cookies as a browser does. The page's handler is the README's, word
// for word (TestREADMEProgram checks it, and runs the README's program).
func Example_readme() {
	m, err := sessions.New(sessions.NewMemoryStore(), sessions.Config{})
	if err != nil {
		log.Fatal(err)
	}

	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := sessions.FromContext(r.Context())
		if name := r.FormValue("name"); name != "" {
			if err := s.Set("name", name); err != nil { // saved before the response goes
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
		}
		name, _ := s.GetString("name")
		fmt.Fprintf(w, "view %d, name %q\n", s.Views(), name)
	})
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", m.Middleware(page)) // pages only: a favicon is not a view

	// The cookie is Secure; Go's cookie jar, like browsers and curl, sends
	// it over plain HTTP to a loopback address or localhost.
	srv := httptest.NewServer(mux)
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	for _, path := range []string{"/?name=Ada", "/", "/favicon.ico", "/"} {
		resp, err := client.Get(srv.URL + path)
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("%s %d %s", path, resp.StatusCode, body)
	}
	// Output:
	// /?name=Ada 200 view 1, name "Ada"
	// / 200 view 2, name "Ada"
	// /favicon.ico 404 404 page not found
	// / 200 view 3, name "Ada"
}
