package sessions

import (
	"fmt"
	"net/http"
	"strings"
)

// tokenResponseHeader carries a new session token in responses when
// Config.TokenHeader is "Authorization", a header that answers cannot
// carry.
const tokenResponseHeader = "Session-Token"

// tokenID returns the well-formed session id carried by the request's
// header name, as "Bearer <id>" when name is Authorization.
func tokenID(r *http.Request, name string) (string, bool) {
	v := r.Header.Get(name)
	if name == "Authorization" {
		scheme, token, ok := strings.Cut(v, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return "", false
		}
		v = strings.TrimSpace(token)
	}
	return parseID(v)
}

// tokenOut returns the response header that carries new tokens.
func (c *Config) tokenOut() string {
	if c.TokenHeader == "Authorization" {
		return tokenResponseHeader
	}
	return c.TokenHeader
}

// tokenHeader returns the canonical form of name, a header to carry
// session tokens in, or why it cannot be one. Cookie and Set-Cookie are
// refused: the middleware would read the whole Cookie header as the token,
// and answers set Set-Cookie for cookies, so a token there would be no
// cookie a browser keeps, and would look like one to every proxy and cache
// on the way.
func tokenHeader(name string) (string, error) {
	if !validHeaderName(name) {
		return "", fmt.Errorf("%q is not a header name", name)
	}
	name = http.CanonicalHeaderKey(name)
	if name == "Cookie" || name == "Set-Cookie" {
		return "", fmt.Errorf("%q cannot carry session tokens: leave TokenHeader empty to use the session cookie", name)
	}
	return name, nil
}

// validHeaderName reports whether name can name an HTTP header.
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}
