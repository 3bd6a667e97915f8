package sessions

// A RouteOption changes, for the routes of one [Manager.With], a setting
// that the Manager's Config gives all of its routes: it makes sessions lazy
// ([Lazy]), reads them without counting a view ([Uncounted]), or carries
// the session id in a request header instead of the cookie ([Token]). Give the Manager's Config the settings of most routes
// (the defaults: eager sessions, cookies), and With the others.
type RouteOption struct {
	apply func(*Config)
}

// Lazy makes the routes' sessions lazy, as [Config].Lazy does for all
// routes: a request without a valid session gets one that is stored only
// when the handler changes it.
func Lazy() RouteOption { return RouteOption{func(c *Config) { c.Lazy = true }} }

// Uncounted makes the routes' requests read the session without counting
// a view: one read of the store, no write, for API calls, assets and
// polling that want the session but are no page view. The session is
// served with the same guarantees (never once it has ended, its values
// current, its expiry moved by use as a view moves it) and its Views is
// the count of the last counted request. Lazy routes and Token routes can
// be Uncounted too.
func Uncounted() RouteOption { return RouteOption{func(c *Config) { c.uncounted = true }} }

// Token carries the session id in the request header name, as
// [Config].TokenHeader does for all routes: for API and mobile clients.
// Like New, it refuses a name that is no header name, and Cookie and
// Set-Cookie; as a mistake in the program, not in a request, the refusal
// is a panic, when With is called.
func Token(header string) RouteOption {
	name, err := tokenHeader(header)
	if err != nil {
		panic(err)
	}
	return RouteOption{func(c *Config) { c.TokenHeader = name }}
}

// With returns a Manager for some of m's routes: it applies opts, in order,
// over m's settings, and shares everything else with m: the store, the
// coalescing of each session's concurrent requests, the failing fast while
// the store is down, the telemetry and the logger. So one Manager serves an
// app's pages, its lazy public pages and its JSON API, and the concurrent
// requests of a session are coalesced whichever routes they take:
//
//	pages := m.Middleware
//	public := m.With(sessions.Lazy()).Middleware
//	assets := m.With(sessions.Uncounted()).Middleware
//	api := m.With(sessions.Token("Authorization"), sessions.Uncounted()).Middleware
//
// Each is an alice.Constructor. With is cheap, but meant for set-up: call
// it once per kind of route, not per request.
func (m *Manager) With(opts ...RouteOption) *Manager {
	r := &Manager{cfg: m.cfg, shared: m.shared}
	for _, o := range opts {
		if o.apply != nil {
			o.apply(&r.cfg)
		}
	}
	return r
}
