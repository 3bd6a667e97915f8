package load

import (
	"net"
	"sync"
	"time"
)

// DelayProxy is a TCP proxy on a loopback port that holds every chunk of
// data half a round trip in each direction before passing it on, so that an
// app talking to the emulator through it pays a network round trip per
// call, as an app on App Engine or Cloud Run pays to reach Firestore. Each
// chunk is delayed from the moment it was read, not after the previous one:
// data in flight overlaps as on a real link, and the order of a
// connection's bytes is kept.
type DelayProxy struct {
	Addr string // "127.0.0.1:PORT"
	RTT  time.Duration

	l        net.Listener
	upstream string
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    map[net.Conn]struct{}
	closed   bool
}

// StartDelayProxy starts a proxy to upstream that adds rtt to every round
// trip.
func StartDelayProxy(upstream string, rtt time.Duration) (*DelayProxy, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &DelayProxy{Addr: l.Addr().String(), RTT: rtt, l: l, upstream: upstream, conns: map[net.Conn]struct{}{}}
	p.wg.Go(p.serve)
	return p, nil
}

// Close stops the proxy and ends its connections.
func (p *DelayProxy) Close() {
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.l.Close()
	p.wg.Wait()
}

func (p *DelayProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *DelayProxy) serve() {
	for {
		down, err := p.l.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", p.upstream)
		if err != nil {
			down.Close()
			continue
		}
		if !p.track(down) || !p.track(up) {
			down.Close()
			up.Close()
			continue
		}
		p.wg.Go(func() { p.pipe(up, down) })
		p.wg.Go(func() { p.pipe(down, up) })
	}
}

// chunk is data read at a time, due for writing half a round trip later.
type chunk struct {
	b   []byte
	due time.Time
}

// pipe copies src to dst, each chunk held RTT/2 from when it was read.
// When either side ends, both connections are closed.
func (p *DelayProxy) pipe(dst, src net.Conn) {
	defer func() {
		dst.Close()
		src.Close()
	}()
	queue := make(chan chunk, 1024)
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(queue)
		for {
			buf := make([]byte, 32<<10)
			n, err := src.Read(buf)
			if n > 0 {
				queue <- chunk{buf[:n], time.Now().Add(p.RTT / 2)}
			}
			if err != nil {
				return
			}
		}
	})
	for c := range queue {
		if d := time.Until(c.due); d > 0 {
			time.Sleep(d) // the half round trip this proxy exists to add
		}
		if _, err := dst.Write(c.b); err != nil {
			break
		}
	}
	src.Close() // ends the reader if the writer failed first
	for range queue {
	}
	wg.Wait()
}
