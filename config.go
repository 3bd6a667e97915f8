package sessions

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// Config configures a [Manager]. Every field is optional: the zero value of
// a field selects its default, so Config{} is a safe production setting.
type Config struct {
	// CookieName names the session cookie. Default: "__Host-session_id"
	// ([DefaultCookieName]) for a Secure cookie without Domain and with Path
	// "/", the usual case, and "session_id" when
	// Insecure, Domain or Path is set. Browsers accept a "__Host-" cookie only over HTTPS, with
	// Secure, Path=/ and no Domain, so a sibling subdomain or a plain-HTTP
	// page cannot plant a session cookie of that name (cookie tossing); New
	// checks that Insecure and Domain agree with such a name.
	CookieName string

	// Domain sets the cookie's Domain attribute. Default: none, so the
	// cookie goes only to the host that set it.
	Domain string

	// Path sets the cookie's Path attribute, for an app that owns only part
	// of its host. Default "/". A __Host- cookie needs "/".
	Path string

	// SameSite sets the cookie's SameSite attribute. Default
	// http.SameSiteLaxMode: sent on top-level navigations from other sites,
	// not on their cross-site POSTs or embedded requests. Choose
	// http.SameSiteStrictMode to send it only on requests from the site
	// itself, or http.SameSiteNoneMode for pages embedded in other sites and
	// cross-site POST callbacks (payment and sign-in providers); browsers
	// accept None only on a Secure cookie, so New refuses None with
	// Insecure.
	SameSite http.SameSite

	// TokenHeader, when set, makes the Manager carry the session id in this
	// request header instead of a cookie, for API and mobile clients:
	// requests send it (as "Authorization: Bearer <id>" when TokenHeader is
	// "Authorization"), and a response that gives the session a new id (a
	// new session, Renew, a lazy session's first change) carries it in the
	// same header, or in Session-Token for
	// Authorization; Destroy answers with that header empty. Such a Manager
	// sets no cookie. TokenHeader is the default of all the Manager's
	// routes: to serve an API beside browser pages, leave it empty and give
	// the API's routes m.With(sessions.Token(name)) ([Manager.With]), so
	// that one Manager serves both. Keep tokens out of reach of page
	// scripts, which can read response headers. Cookie and Set-Cookie
	// cannot be token headers. Default: cookies.
	TokenHeader string

	// Partitioned sets the cookie's Partitioned attribute (CHIPS): a page
	// embedded in other sites gets a separate cookie jar under each of
	// them, which browsers that block third-party cookies still allow.
	// Use it with SameSite None; it needs Secure.
	Partitioned bool

	// Insecure leaves the Secure attribute off the cookie, so that clients
	// send it over plain HTTP. Browsers, curl and Go's cookie jar already
	// send a Secure cookie to http://localhost; set Insecure only for
	// development over plain HTTP on another host name, such as a LAN
	// address or a container's name, never in production. Without it, the
	// Manager logs one warning (through Logger, once for the Manager and
	// its With) when it sets the session cookie in answer to a plain-HTTP
	// request from another host (not over TLS, not from a loopback or
	// documentation address, such as httptest's, and without
	// X-Forwarded-Proto: https from a proxy that terminated TLS): browsers
	// neither keep nor send back a Secure cookie there, so every request
	// would start a new session.
	Insecure bool

	// Lifetime is the lifetime of new sessions, which [Session.SetLifetime]
	// replaces for one session. Its Idle ends a session that is not used
	// for this long; requests move the expiry forward. The server
	// enforces it: the cookie lives until Max's end, so that it needs no
	// refreshing. Default 24 hours. Its Max ends a session
	// this long after its creation however often it is used. Default 7
	// days. Its BrowserSession sends new sessions' cookies
	// without Max-Age, so that browsers drop them when they close.
	Lifetime Lifetime

	// Timeout bounds the store calls of one step of a request: resolving
	// the session and counting the view, each change made by the handler,
	// the save of its changes, so that a slow or unreachable store never
	// hangs a request (the error wraps ErrUnavailable). A view in the
	// session's last moments (less than Timeout of its idle period left, or
	// less than a quarter of its idle timeout when that is shorter) waits
	// for the write that moves its expiry before the handler runs. Default
	// 5 seconds.
	Timeout time.Duration

	// Lazy stores a new session only when the handler changes it (Set,
	// Increment, Modify, AddFlash, Login, Renew, SetOwner, SetLifetime):
	// until then a request without a valid session gets a session that is
	// not stored, has no id and no cookie, and costs no
	// store call. Its view count starts at the request that stores it. Choose
	// it when sessions matter only once the visitor does something (signs in,
	// fills a cart) and anonymous traffic (crawlers, uptime checks, link
	// previews) would otherwise write a document per request; leave it off
	// when every visitor needs a session from the first page, as the
	// greeter's per-visitor greeting and view count do. Lazy is the default
	// of all the Manager's routes: m.With(sessions.Lazy()) makes only some
	// routes lazy ([Manager.With]). Default off.
	Lazy bool

	// OnCreate, when set, is called for each new session before it is
	// stored, so that it can set the session's first values (they are stored
	// with the session, in the same write). An error is handled like a store
	// failure.
	OnCreate func(r *http.Request, s *Session) error

	// ErrorHandler answers a request whose session could not be resolved
	// before the handler (the handler is then not called), or whose changes
	// could not be saved before the handler wrote anything. Default: a short
	// plain-text answer of [StatusCode](err): 503 Service Unavailable with
	// Retry-After: 1 when the store is down or too slow, 413 when concurrent
	// changes would take the session past Firestore's limits.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)

	// Logger receives an error record for every store failure, with the
	// kind of error (error_type: unavailable, conflict, ...). Default
	// slog.Default().
	Logger *slog.Logger

	// TracerProvider and MeterProvider receive the Manager's OpenTelemetry
	// spans (one per store call of a traced request, as by otelhttp, as
	// children of the request's span) and metrics (views, sessions created,
	// store latency and errors by operation and error type, coalesced
	// batch sizes; the
	// Firestore store's cache metrics go to FirestoreConfig.MeterProvider).
	// Default: the global providers (otel.GetTracerProvider,
	// otel.GetMeterProvider), which do nothing until the application
	// installs an SDK.
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider

	// Clock returns the current time, by which sessions are created, slid
	// and found expired. Default time.Now; a test that steps through idle
	// timeouts and lifetimes sets its own. Every Manager that shares a
	// store should see the same time.
	Clock func() time.Time

	// MaxOwnerSessions, when above 0, caps the live sessions of one owner,
	// exactly, however many instances and logins at once: a Login (or
	// SetOwner) beyond the cap ends the owner's least recently used
	// sessions (by their last view), whose visitors' next requests are told
	// why (EndedByLimit); with RefuseExtraLogins, it fails with
	// ErrTooManySessions instead. The cap and the binding are one atomic
	// store write, guarded by the owner's list of sessions.
	MaxOwnerSessions  int
	RefuseExtraLogins bool

	// RenewAfter, when above 0, gives a session a new id on its first
	// request after it has had its id this long, as Renew does, so that a
	// stolen id stops working on its own (OWASP's renewal timeout). The
	// requests that the visitor sent with the old id before it learnt the
	// new one keep working for RenewGrace: they see the session under its
	// new id and their changes are kept; after that the old id is dead.
	// The store keeps no new id where the old one was, only the new id's
	// hash. Default: ids are not renewed on their own.
	RenewAfter time.Duration
	// RenewGrace is how long an id renewed by RenewAfter still works.
	// Default 30 seconds.
	RenewGrace time.Duration

	// Adopt, when set, lets a new session take over a session that another
	// system (a previous session library, an earlier version of the app)
	// keeps for the visitor: it is called for a request that brings no live
	// session of the Manager's own, after OnCreate, and may return what the
	// new session starts with (see [Adoption]), stored in the same write
	// that creates it. ok false adopts nothing (Adoption.Clear is still
	// expired, for an old cookie with nothing behind it); an error is
	// handled like a store failure.
	Adopt func(r *http.Request) (a Adoption, ok bool, err error)

	uncounted bool // set by the route option Uncounted
}

// An Adoption is what a session taken over from another system (see
// Config.Adopt) brings into the new session.
type Adoption struct {
	// Values are the new session's first values, set as Session.Set sets
	// them, over those of OnCreate.
	Values map[string]any
	// Owner binds the new session to this owner, as Session.SetOwner does.
	Owner string
	// Views counts the views the other system counted: the adopting
	// request is view Views+1.
	Views int64
	// Clear, when not nil, names a cookie of the other system (its Name,
	// Path and Domain) that the response expires.
	Clear *http.Cookie
}

// Defaults used for zero Config fields.
const (
	DefaultCookieName      = "__Host-session_id"
	defaultPlainCookieName = "session_id"
	defaultIdle            = 24 * time.Hour     // Config.Lifetime.Idle
	defaultMax             = 7 * 24 * time.Hour // Config.Lifetime.Max
	defaultTimeout         = 5 * time.Second
	defaultRenewGrace      = 30 * time.Second
)

// withDefaults returns c with its zero fields set to their defaults, or an
// error naming the first field that cannot work.
func (c Config) withDefaults() (Config, error) {
	if c.Path == "" {
		c.Path = "/"
	}
	if c.SameSite == 0 || c.SameSite == http.SameSiteDefaultMode {
		c.SameSite = http.SameSiteLaxMode
	}
	if c.TokenHeader != "" {
		name, err := tokenHeader(c.TokenHeader)
		if err != nil {
			return c, fmt.Errorf("sessions: config: TokenHeader: %w", err)
		}
		c.TokenHeader = name
	}
	if c.CookieName == "" {
		c.CookieName = DefaultCookieName
		if c.Insecure || c.Domain != "" || c.Path != "/" {
			c.CookieName = defaultPlainCookieName
		}
	}
	if c.Lifetime.Idle == 0 {
		c.Lifetime.Idle = defaultIdle
	}
	if c.Lifetime.Max == 0 {
		c.Lifetime.Max = defaultMax
	}
	if c.Timeout == 0 {
		c.Timeout = defaultTimeout
	}
	if c.RenewGrace == 0 {
		c.RenewGrace = defaultRenewGrace
	}
	if c.ErrorHandler == nil {
		c.ErrorHandler = defaultErrorHandler
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	probe := &http.Cookie{Name: c.CookieName, Value: "v", Domain: c.Domain, Path: c.Path}
	if err := probe.Valid(); err != nil {
		return c, fmt.Errorf("sessions: config: cookie: %w", err)
	}
	switch {
	case c.Lifetime.Idle < time.Second || c.Lifetime.Max < time.Second:
		return c, errors.New("sessions: config: Lifetime's Idle and Max must be at least one second")
	case c.Timeout < 0:
		return c, errors.New("sessions: config: Timeout must not be negative")
	case c.RenewAfter < 0 || c.RenewGrace < 0:
		return c, errors.New("sessions: config: RenewAfter and RenewGrace must not be negative")
	case c.MaxOwnerSessions < 0:
		return c, errors.New("sessions: config: MaxOwnerSessions must not be negative")
	case strings.HasPrefix(c.CookieName, "__Host-") && (c.Insecure || c.Domain != "" || c.Path != "/"):
		return c, errors.New("sessions: config: a __Host- cookie must be Secure, with Path / and no Domain")
	case c.SameSite == http.SameSiteNoneMode && c.Insecure:
		return c, errors.New("sessions: config: browsers refuse SameSite=None on a cookie that is not Secure: drop Insecure or choose Lax")
	case c.Partitioned && c.Insecure:
		return c, errors.New("sessions: config: a Partitioned cookie must be Secure")
	case !strings.HasPrefix(c.Path, "/") || strings.ContainsAny(c.Path, ";\x00\r\n"):
		return c, errors.New("sessions: config: Path must start with / and hold no ; or control characters")
	case strings.HasPrefix(c.CookieName, "__Secure-") && c.Insecure:
		return c, errors.New("sessions: config: a __Secure- cookie must be Secure")
	}
	return c, nil
}

// defaultErrorHandler is the default Config.ErrorHandler: the status of
// StatusCode(err) with a short plain-text body that tells the visitor
// nothing about the cause; a 503 says Retry-After: 1.
func defaultErrorHandler(w http.ResponseWriter, r *http.Request, err error) {
	code := StatusCode(err)
	if code == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
		http.Error(w, "503 service unavailable: please try again", code)
		return
	}
	http.Error(w, fmt.Sprintf("%d %s", code, strings.ToLower(http.StatusText(code))), code)
}
