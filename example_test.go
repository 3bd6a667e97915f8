package sessions_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/firestore-sessions/sessions"
	"github.com/justinas/alice"
)

// The tutorial's page: a view count per visitor, with the greeting chosen
// when the session was created. In production, use the store of
// sessions.OpenFirestore instead of the memory store.
func Example() {
	m, err := sessions.New(sessions.NewMemoryStore(), sessions.Config{
		OnCreate: func(r *http.Request, s *sessions.Session) error {
			return s.Set("greeting", "Hallo Welt")
		},
	})
	if err != nil {
		panic(err)
	}
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := sessions.FromContext(r.Context())
		greeting, _ := s.GetString("greeting")
		fmt.Fprintf(w, "%d views for %q", s.Views(), greeting)
	})
	h := alice.New(m.Middleware).Then(page)

	var cookie *http.Cookie
	for range 2 {
		r := httptest.NewRequest("GET", "/", nil)
		if cookie != nil {
			r.AddCookie(cookie)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if c := w.Result().Cookies(); len(c) > 0 { // sent when it changes
			cookie = c[0]
		}
		body, _ := io.ReadAll(w.Result().Body)
		fmt.Println(string(body))
	}
	// Output:
	// 1 views for "Hallo Welt"
	// 2 views for "Hallo Welt"
}

// Renew at login gives the session a new id, so an id known before login is
// worth nothing after it; Destroy at logout ends the session.
func ExampleSession_Renew() {
	m, _ := sessions.New(sessions.NewMemoryStore(), sessions.Config{})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		s, _ := sessions.FromContext(r.Context())
		if err := s.Set("user", "ada"); err != nil {
			http.Error(w, "bad session value", http.StatusInternalServerError)
			return
		}
		if err := s.Renew(r.Context()); err != nil {
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "welcome")
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		s, _ := sessions.FromContext(r.Context())
		if err := s.Destroy(r.Context()); err != nil {
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "goodbye")
	})
	h := m.Middleware(mux)

	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("POST", "/login", nil))
	fmt.Print(w.Body.String())
	// Output:
	// welcome
}

// Typed getters report a missing key or a value of another type with ok =
// false, instead of a zero value or a panic.
func ExampleSession_GetInt() {
	m, _ := sessions.New(sessions.NewMemoryStore(), sessions.Config{})
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := sessions.FromContext(r.Context())
		n, _ := s.GetInt("cart_items") // 0, false for a new session
		if err := s.Set("cart_items", n+1); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		_, isString := s.GetString("cart_items")
		fmt.Println(n+1, isString)
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	// Output:
	// 1 false
}

// visit sends a GET for path to h with the session cookie c (none when
// nil), and returns the answer's body and the session cookie it set, or c.
func visit(h http.Handler, path string, c *http.Cookie) (string, *http.Cookie) {
	r := httptest.NewRequest("GET", path, nil)
	if c != nil {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	for _, set := range w.Result().Cookies() {
		c = set
	}
	return w.Body.String(), c
}

// A cart struct, stored as native Firestore fields (a map with an array of
// maps, readable in the console) and read back into its Go type.
func ExampleGetAs() {
	type Item struct {
		SKU      string `firestore:"sku"`
		Quantity int    `firestore:"qty"`
	}
	type Cart struct {
		Items  []Item    `firestore:"items"`
		Coupon string    `firestore:"coupon,omitempty"`
		Since  time.Time `firestore:"since"`
	}
	m, _ := sessions.New(sessions.NewMemoryStore(), sessions.Config{})
	mux := http.NewServeMux()
	mux.HandleFunc("/add", func(w http.ResponseWriter, r *http.Request) {
		s, _ := sessions.FromContext(r.Context())
		cart, _, err := sessions.GetAs[Cart](s, "cart")
		if err != nil { // a value of another shape under "cart"
			http.Error(w, "bad cart", http.StatusInternalServerError)
			return
		}
		if cart.Since.IsZero() {
			cart.Since = time.Now()
		}
		cart.Items = append(cart.Items, Item{SKU: r.FormValue("sku"), Quantity: 1})
		if err := s.Set("cart", cart); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, "%d items", len(cart.Items))
	})
	h := m.Middleware(mux)

	body, c := visit(h, "/add?sku=apple", nil)
	fmt.Println(body)
	body, _ = visit(h, "/add?sku=pear", c)
	fmt.Println(body)
	// Output:
	// 1 items
	// 2 items
}

// With Lazy, anonymous traffic stores nothing: crawlers and uptime checks
// cost no store call and get no cookie, and the session is stored when the
// visitor does something that needs it.
func ExampleConfig_lazy() {
	store := sessions.NewMemoryStore()
	m, _ := sessions.New(store, sessions.Config{Lazy: true})
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "welcome")
	})
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		s, _ := sessions.FromContext(r.Context())
		if err := s.Renew(r.Context()); err != nil { // stores the session
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		_ = s.Set("user", "ada")
	})
	h := m.Middleware(mux)

	for range 100 {
		visit(h, "/", nil)
	}
	fmt.Println("sessions stored for 100 anonymous views:", store.Len())
	_, c := visit(h, "/login", nil)
	fmt.Println("after a login:", store.Len(), c != nil)
	// Output:
	// sessions stored for 100 anonymous views: 0
	// after a login: 1 true
}

// Set refuses a change that would not fit in a Firestore document, in every
// store, while the handler can still answer.
func ExampleErrTooLarge() {
	m, _ := sessions.New(sessions.NewMemoryStore(), sessions.Config{})
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := sessions.FromContext(r.Context())
		upload := make([]byte, 2<<20)
		if err := s.Set("draft", upload); errors.Is(err, sessions.ErrTooLarge) {
			http.Error(w, "draft too large to keep", http.StatusRequestEntityTooLarge)
			return
		}
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("POST", "/draft", nil))
	fmt.Println(w.Code)
	// Output:
	// 413
}

// "Log out everywhere": sessions bound to their user at login can be
// listed and ended from any instance, after a password change or a lost
// device.
func ExampleManager_DestroyOwnerSessions() {
	m, _ := sessions.New(sessions.NewMemoryStore(), sessions.Config{})
	mux := http.NewServeMux()
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		s, _ := sessions.FromContext(r.Context())
		if err := s.Renew(r.Context()); err != nil {
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		if err := s.SetOwner(r.Context(), "user-42"); err != nil {
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		_ = s.Set("device", r.UserAgent())
	})
	mux.HandleFunc("/devices", func(w http.ResponseWriter, r *http.Request) {
		s, _ := sessions.FromContext(r.Context())
		list, err := m.OwnerSessions(r.Context(), s.Owner())
		if err != nil {
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, "%d devices", len(list))
	})
	mux.HandleFunc("/logout-everywhere", func(w http.ResponseWriter, r *http.Request) {
		s, _ := sessions.FromContext(r.Context())
		n, err := m.DestroyOwnerSessions(r.Context(), s.Owner())
		if err != nil {
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		_ = s.Destroy(r.Context()) // expires this device's cookie
		fmt.Fprintf(w, "ended %d sessions", n)
	})
	h := m.Middleware(mux)

	_, laptop := visit(h, "/login", nil)
	_, phone := visit(h, "/login", nil)
	body, _ := visit(h, "/devices", laptop)
	fmt.Println(body)
	body, _ = visit(h, "/logout-everywhere", phone)
	fmt.Println(body)
	// Output:
	// 2 devices
	// ended 2 sessions
}

// Remember me: the box ticked at login gives this session 30 days of idle
// time and 90 of life, for the store's expiry and the cookie alike; left
// unticked, the cookie ends with the browser.
func ExampleSession_SetLifetime() {
	m, _ := sessions.New(sessions.NewMemoryStore(), sessions.Config{})
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := sessions.FromContext(r.Context())
		l := sessions.Lifetime{BrowserSession: true}
		if r.FormValue("remember") == "on" {
			l = sessions.Lifetime{Idle: 30 * 24 * time.Hour, Max: 90 * 24 * time.Hour}
		}
		if err := s.SetLifetime(r.Context(), l); err != nil {
			http.Error(w, "try again", http.StatusServiceUnavailable)
		}
	}))
	_, c := visit(h, "/login?remember=on", nil)
	fmt.Println("remembered for days:", c.MaxAge/86400)
	_, c = visit(h, "/login", nil)
	fmt.Println("browser session:", c.MaxAge == 0)
	// Output:
	// remembered for days: 90
	// browser session: true
}

// API and mobile clients carry the session in a header: the first answer
// hands out the token, and later requests send it as a Bearer token.
func ExampleConfig_tokenHeader() {
	m, _ := sessions.New(sessions.NewMemoryStore(), sessions.Config{TokenHeader: "Authorization"})
	api := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := sessions.FromContext(r.Context())
		fmt.Fprintf(w, "view %d", s.Views())
	}))

	w := httptest.NewRecorder()
	api.ServeHTTP(w, httptest.NewRequest("GET", "/api/me", nil))
	token := w.Header().Get("Session-Token")
	fmt.Println(w.Body.String(), len(w.Result().Cookies()), "cookies")

	r := httptest.NewRequest("GET", "/api/me", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	w = httptest.NewRecorder()
	api.ServeHTTP(w, r)
	fmt.Println(w.Body.String())
	// Output:
	// view 1 0 cookies
	// view 2
}

// A websocket loop or a background job uses a session outside the
// middleware: Load counts a view, Save stores the changes field-level.
func ExampleManager_Load() {
	m, _ := sessions.New(sessions.NewMemoryStore(), sessions.Config{})
	var id string
	m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := sessions.FromContext(r.Context())
		id = s.ID() // in a real app: the websocket handler's own session
	})).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/ws", nil))

	ctx := context.Background()
	s, err := m.Load(ctx, id)
	if err != nil {
		fmt.Println("no such session:", err)
		return
	}
	_ = s.Set("last_message", time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC))
	if err := m.Save(ctx, s); err != nil {
		fmt.Println("not saved:", err)
		return
	}
	fmt.Println("view", s.Views())
	// Output:
	// view 2
}

// A flash message survives exactly until it is read: set on the POST, shown
// on the page the POST redirects to.
func ExampleSession_AddFlash() {
	m, _ := sessions.New(sessions.NewMemoryStore(), sessions.Config{})
	mux := http.NewServeMux()
	mux.HandleFunc("/save", func(w http.ResponseWriter, r *http.Request) {
		s, _ := sessions.FromContext(r.Context())
		if err := s.AddFlash(r.Context(), "Your profile was saved."); err != nil {
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		http.Redirect(w, r, "/profile", http.StatusSeeOther)
	})
	mux.HandleFunc("/profile", func(w http.ResponseWriter, r *http.Request) {
		s, _ := sessions.FromContext(r.Context())
		flashes, err := s.Flashes(r.Context())
		if err != nil {
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, flashes)
	})
	h := m.Middleware(mux)

	_, c := visit(h, "/save", nil)
	body, _ := visit(h, "/profile", c)
	fmt.Println(body)
	body, _ = visit(h, "/profile", c)
	fmt.Println(body)
	// Output:
	// [Your profile was saved.]
	// []
}

// A page embedded in other sites (a widget, a payment or sign-in
// callback) needs SameSite=None, and Partitioned to keep its cookie where
// third-party cookies are blocked; New refuses None on an insecure cookie.
func ExampleConfig_sameSite() {
	m, _ := sessions.New(sessions.NewMemoryStore(), sessions.Config{
		SameSite:    http.SameSiteNoneMode,
		Partitioned: true,
	})
	_, c := visit(m.Middleware(http.NotFoundHandler()), "/widget", nil)
	fmt.Println(c.SameSite == http.SameSiteNoneMode, c.Partitioned, c.Secure)

	_, err := sessions.New(sessions.NewMemoryStore(), sessions.Config{SameSite: http.SameSiteNoneMode, Insecure: true})
	fmt.Println(err)
	// Output:
	// true true true
	// sessions: config: browsers refuse SameSite=None on a cookie that is not Secure: drop Insecure or choose Lax
}

// At sign-in, one call gives the session a new id (so that an id known
// before is worth nothing), its owner and its lifetime, in one store write.
func ExampleSession_Login() {
	m, _ := sessions.New(sessions.NewMemoryStore(), sessions.Config{MaxOwnerSessions: 5})
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := sessions.FromContext(r.Context())
		if r.URL.Path == "/login" { // after checking the password
			remember := sessions.Lifetime{Idle: 14 * 24 * time.Hour, Max: 90 * 24 * time.Hour}
			if err := s.Login(r.Context(), "user-42", remember); err != nil {
				http.Error(w, "try again", http.StatusServiceUnavailable)
				return
			}
		}
		fmt.Fprintf(w, "signed in as %q", s.Owner())
	}))
	_, c := visit(h, "/", nil)
	before := c.Value
	body, c := visit(h, "/login", c)
	fmt.Println(body, "new id:", c.Value != before, "cookie days:", c.MaxAge/86400)
	// Output:
	// signed in as "user-42" new id: true cookie days: 90
}

// Increment counts across every request and instance at once: one round
// trip that never conflicts.
func ExampleSession_Increment() {
	m, _ := sessions.New(sessions.NewMemoryStore(), sessions.Config{})
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := sessions.FromContext(r.Context())
		n, err := s.Increment(r.Context(), "downloads", 1)
		if err != nil {
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, "download %d", n)
	}))
	_, c := visit(h, "/", nil)
	body, _ := visit(h, "/", c)
	fmt.Println(body)
	// Output:
	// download 2
}

// Modify changes a value that concurrent requests change too, such as a
// cart, without losing any of their changes: it runs again on what is
// stored when another change came first.
func ExampleModify() {
	type cart struct {
		Items []string `firestore:"items"`
	}
	m, _ := sessions.New(sessions.NewMemoryStore(), sessions.Config{})
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := sessions.FromContext(r.Context())
		c, err := sessions.Modify(r.Context(), s, "cart", func(c cart, _ bool) (cart, error) {
			c.Items = append(c.Items, r.FormValue("add"))
			return c, nil
		})
		if err != nil {
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, c.Items)
	}))
	_, c := visit(h, "/?add=apple", nil)
	body, _ := visit(h, "/?add=pear", c)
	fmt.Println(body)
	// Output:
	// [apple pear]
}

// Pop reads a one-time value, such as the state of an OAuth sign-in, and
// deletes it: of concurrent requests, exactly one gets it.
func ExampleSession_Pop() {
	m, _ := sessions.New(sessions.NewMemoryStore(), sessions.Config{})
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := sessions.FromContext(r.Context())
		switch r.URL.Path {
		case "/start":
			_ = s.Set("oauth_state", "k3y")
		case "/callback":
			state, ok, err := sessions.PopAs[string](r.Context(), s, "oauth_state")
			if err != nil {
				http.Error(w, "try again", http.StatusServiceUnavailable)
				return
			}
			fmt.Fprint(w, ok && state == r.FormValue("state"))
		}
	}))
	_, c := visit(h, "/start", nil)
	first, _ := visit(h, "/callback?state=k3y", c)
	replayed, _ := visit(h, "/callback?state=k3y", c)
	fmt.Println(first, replayed)
	// Output:
	// true false
}
