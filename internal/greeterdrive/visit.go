package greeterdrive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// A Result is the outcome of one request of a visitor.
type Result struct {
	Visitor    int    // the visitor's index in its load (0 for Visit)
	Sent       string // session id of the cookie sent, "" for none
	Got        string // the session: the cookie the response set, else (on a 200) the one sent
	Status     int    // 0: no response
	Views      int64  // the page's count: set on a 200 whose page parsed
	Greeting   string // the page's greeting, likewise
	Body       string
	RetryAfter string // the Retry-After header
	Start, End time.Time
	Err        error // transport error, unreadable body, or a 200 whose page did not parse
	Hang       bool  // no answer within the client's timeout
}

// Latency is how long the request took.
func (r Result) Latency() time.Duration { return r.End.Sub(r.Start) }

// OK reports whether the request got a 200 with a well-formed page.
func (r Result) OK() bool { return r.Status == http.StatusOK && r.Err == nil }

func (r Result) String() string {
	s := fmt.Sprintf("visitor %d, cookie %q: ", r.Visitor, r.Sent)
	switch {
	case r.Hang:
		s += fmt.Sprintf("no answer within %v", r.Latency().Round(time.Millisecond))
	case r.Err != nil:
		s += fmt.Sprintf("%v after %v", r.Err, r.Latency().Round(time.Millisecond))
	default:
		s += fmt.Sprintf("%d %q in %v, cookie %q", r.Status, truncate(r.Body, 80), r.Latency().Round(time.Millisecond), r.Got)
	}
	return s
}

// maxBody bounds the body a visit reads.
const maxBody = 1 << 20

// Visit sends GET url with the session cookie id ("" for none), as the
// greeter's plain-HTTP cookie, and reads the answer; a 200's page is parsed
// with ParsePage.
func Visit(ctx context.Context, hc *http.Client, url, id string) Result {
	r := Result{Sent: id, Start: time.Now()}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		r.Err, r.End = err, time.Now()
		return r
	}
	if id != "" {
		req.Header.Set("Cookie", PlainCookieName+"="+id)
	}
	resp, err := hc.Do(req)
	if err != nil {
		r.End, r.Err = time.Now(), err
		r.Hang = isTimeout(err) && ctx.Err() == nil
		return r
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	resp.Body.Close()
	r.End = time.Now()
	r.Status, r.Body, r.RetryAfter = resp.StatusCode, string(body), resp.Header.Get("Retry-After")
	if err != nil {
		r.Err = fmt.Errorf("reading the body: %w", err)
		r.Hang = isTimeout(err) && ctx.Err() == nil
		return r
	}
	if c := SessionCookie(resp); c != nil && c.MaxAge >= 0 {
		r.Got = c.Value
	}
	if r.Status == http.StatusOK {
		if r.Views, r.Greeting, err = ParsePage(r.Body); err != nil {
			r.Err = fmt.Errorf("200 with a malformed page: %w", err)
		}
		if r.Got == "" {
			r.Got = id // the session sent: its cookie is set only when it changes
		}
	}
	return r
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
