package sessions

import "context"

type contextKey struct{}

// FromContext returns the session that the middleware put into a request's
// context: sessions.FromContext(r.Context()). ok is false when the request
// did not pass through the middleware. Where managers are nested, the
// innermost one's session is returned.
func FromContext(ctx context.Context) (s *Session, ok bool) {
	s, ok = ctx.Value(contextKey{}).(*Session)
	return s, ok && s != nil
}

func newContext(ctx context.Context, s *Session) context.Context {
	return context.WithValue(ctx, contextKey{}, s)
}
