package greeterdrive

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// A Visitor is one browser of a load: it sends its cookie (none at first
// if Cookie is empty) and, if Adopt, takes the cookie each response sets.
type Visitor struct {
	Cookie string
	Adopt  bool
}

// Visitors returns n visitors, all on cookie (a shared session) or, with
// cookie "", each on a session of its own made by its first request.
func Visitors(n int, cookie string) []Visitor {
	vs := make([]Visitor, n)
	for i := range vs {
		vs[i] = Visitor{Cookie: cookie, Adopt: cookie == ""}
	}
	return vs
}

// LoadOptions shape a load.
type LoadOptions struct {
	// URL returns the page a visitor's k-th request goes to (k from 0):
	// one instance, alternating ones, or one at random. Required.
	URL func(visitor, k int) string
	// Until ends the load: no request starts after it (zero: Stop ends it).
	Until time.Time
	// MaxRequests bounds the requests of the whole load (0: no bound).
	MaxRequests int
	// Timeout bounds each request (0: only the client's own timeout).
	Timeout time.Duration
	// QuitOnError makes a visitor stop at its first request without a
	// response; otherwise it pauses 10 ms (a refused connection answers at
	// once) and goes on.
	QuitOnError bool
	// Check, if set, may flag a result (set Err) before it is kept.
	Check func(*Result)
}

// Load is a set of visitors each sending one request after another, until
// stopped.
type Load struct {
	hc   *http.Client
	opt  LoadOptions
	stop chan struct{}
	once sync.Once
	wg   sync.WaitGroup
	sent atomic.Int64

	mu      sync.Mutex
	results []Result
}

// StartLoad starts visitors with hc.
func StartLoad(ctx context.Context, hc *http.Client, visitors []Visitor, opt LoadOptions) *Load {
	l := &Load{hc: hc, opt: opt, stop: make(chan struct{})}
	for i, v := range visitors {
		l.wg.Go(func() { l.run(ctx, i, v) })
	}
	return l
}

func (l *Load) run(ctx context.Context, i int, v Visitor) {
	cookie := v.Cookie
	for k := 0; ; k++ {
		select {
		case <-l.stop:
			return
		case <-ctx.Done():
			return
		default:
		}
		if !l.opt.Until.IsZero() && !time.Now().Before(l.opt.Until) {
			return
		}
		if l.opt.MaxRequests > 0 && l.sent.Add(1) > int64(l.opt.MaxRequests) {
			return
		}
		rctx, cancel := ctx, context.CancelFunc(func() {})
		if l.opt.Timeout > 0 {
			rctx, cancel = context.WithTimeout(ctx, l.opt.Timeout)
		}
		r := Visit(rctx, l.hc, l.opt.URL(i, k), cookie)
		cancel()
		r.Visitor = i
		if l.opt.Check != nil {
			l.opt.Check(&r)
		}
		l.mu.Lock()
		l.results = append(l.results, r)
		l.mu.Unlock()
		if v.Adopt && r.Got != "" {
			cookie = r.Got
		}
		if r.Status == 0 {
			if l.opt.QuitOnError {
				return
			}
			time.Sleep(10 * time.Millisecond) // pacing, not a wait for a condition
		}
	}
}

// Wait waits until every visitor has stopped (by Until, MaxRequests, the
// context, or Stop) and returns every result.
func (l *Load) Wait() []Result {
	l.wg.Wait()
	return l.Results()
}

// Stop stops the load, waits for the requests in flight and returns every
// result.
func (l *Load) Stop() []Result {
	l.once.Do(func() { close(l.stop) })
	return l.Wait()
}

// Results returns the results so far.
func (l *Load) Results() []Result {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.results)
}
