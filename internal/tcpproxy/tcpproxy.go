// Package tcpproxy is a TCP proxy on a loopback port in front of the
// Firestore emulator, for the repository's benchmarks and fault tests: it
// can price every round trip, as the network does between an app on App
// Engine or Cloud Run and Firestore, and it can drop an answer and reset
// its connection, as a network failure does.
package tcpproxy

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// A Proxy passes the bytes of every connection to its upstream and back,
// in order.
type Proxy struct {
	// Addr is the proxy's address, "127.0.0.1:PORT".
	Addr string
	// RTT is the round trip the proxy adds: it holds every chunk of data
	// half of it in each direction, from the moment it was read (not after
	// the chunk before it), so data in flight overlaps as on a real link.
	RTT time.Duration

	l        net.Listener
	upstream string
	armed    atomic.Bool
	drops    atomic.Int64
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    map[net.Conn]struct{}
	closed   bool
}

// Start starts a proxy to upstream that adds rtt to every round trip (0:
// none).
func Start(upstream string, rtt time.Duration) (*Proxy, error) {
	return StartOn("127.0.0.1:0", upstream, rtt)
}

// StartOn starts a proxy as Start does, listening on addr: a test can give
// a client an address where nothing listens yet, and bring its upstream
// there later.
func StartOn(addr, upstream string, rtt time.Duration) (*Proxy, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	p := &Proxy{Addr: l.Addr().String(), RTT: rtt, l: l, upstream: upstream, conns: map[net.Conn]struct{}{}}
	p.wg.Go(p.serve)
	return p, nil
}

// DropNextAnswer makes the proxy drop the next chunk that upstream sends
// and reset both sides of its connection, so that every call in flight on
// it loses its answer, whether upstream applied it or not.
func (p *Proxy) DropNextAnswer() { p.armed.Store(true) }

// Drops returns how many answers DropNextAnswer dropped.
func (p *Proxy) Drops() int64 { return p.drops.Load() }

// Close stops the proxy and ends its connections.
func (p *Proxy) Close() {
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.l.Close()
	p.wg.Wait()
}

func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) serve() {
	for {
		down, err := p.l.Accept()
		if err != nil {
			return
		}
		up, err := net.DialTimeout("tcp", p.upstream, 5*time.Second)
		if err != nil {
			down.Close()
			continue
		}
		if !p.track(down) || !p.track(up) {
			down.Close()
			up.Close()
			continue
		}
		p.wg.Go(func() { p.pipe(up, down, false) })
		p.wg.Go(func() { p.pipe(down, up, true) })
	}
}

// chunk is data read at a time, due for writing half a round trip later.
type chunk struct {
	b   []byte
	due time.Time
}

// pipe copies src to dst, each chunk held RTT/2 from when it was read;
// answers (data from upstream) may be dropped. When either side ends, both
// connections are closed.
func (p *Proxy) pipe(dst, src net.Conn, answers bool) {
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
		if answers && p.armed.CompareAndSwap(true, false) {
			p.drops.Add(1)
			reset(dst)
			reset(src)
			break
		}
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

// reset closes c with a TCP RST instead of a FIN.
func reset(c net.Conn) {
	if t, ok := c.(*net.TCPConn); ok {
		t.SetLinger(0)
	}
	c.Close()
}
