package tcpproxy

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"
)

// The proxy passes every byte through, in order, and holds each
// exchange at least a round trip.
func TestDelay(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() { // an echo server
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	const rtt = 20 * time.Millisecond
	p, err := Start(l.Addr().String(), rtt)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := net.Dial("tcp", p.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg := bytes.Repeat([]byte("0123456789"), 10000) // several chunks
	for range 3 {
		start := time.Now()
		go func() { _, _ = c.Write(msg) }()
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(c, got); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, msg) {
			t.Fatal("the bytes came back changed or out of order")
		}
		if d := time.Since(start); d < rtt {
			t.Errorf("an exchange took %v through a proxy of %v round trips", d, rtt)
		}
	}
}

// DropNextAnswer drops an answer and resets the connection: the client
// gets an error, not the bytes.
func TestDropNextAnswer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	p, err := Start(l.Addr().String(), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := net.Dial("tcp", p.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p.DropNextAnswer()
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	if n, err := io.ReadFull(c, make([]byte, 4)); err == nil {
		t.Errorf("read %d bytes of a dropped answer", n)
	}
	if p.Drops() != 1 {
		t.Errorf("%d drops, want 1", p.Drops())
	}
}
