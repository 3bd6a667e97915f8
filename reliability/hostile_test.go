package reliability

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/firestore-sessions/sessions/internal/emulator"
	"github.com/firestore-sessions/sessions/internal/greeterdrive"
	"github.com/google/uuid"
)

// What a hostile request may get.
type expect int

const (
	fresh          expect = iota // 200, views 1, a new server-issued id
	known                        // 200 of the known session, its next view
	freshOrKnown                 // either
	rejected                     // 400 or 431, no cookie
	freshOrRejects               // 200 fresh, or 400/431
)

func (e expect) String() string {
	return [...]string{"a fresh session", "the known session", "a fresh or the known session", "400 or 431", "a fresh session, 400 or 431"}[e]
}

// Case 6: hostile cookies and headers, sent as raw bytes over TCP (Go's
// client refuses to send most of them). Each gets a fresh session, the
// known session it names in canonical form, or the server's 400/431: never
// a 500, never an injected header, and never a document other than
// sessions/<id the server issued>.
func TestHostileInput(t *testing.T) {
	x := rep.row(t, "6. Hostile input", "greeter binary")
	host, project := emulator.Require(t), emulator.ProjectID(t)
	g := runGreeter(t, host, project)
	first := visit(context.Background(), newClient(1), g.URL, "")
	if first.Status != http.StatusOK {
		t.Fatalf("making a session: %v", first)
	}
	id := first.Got // the known session
	other := uuid.NewString()
	views := int64(1)
	issued := map[string]bool{id: true}

	many := func(n int, last string) string {
		var b strings.Builder
		for i := range n - 1 {
			fmt.Fprintf(&b, "c%d=v%d; ", i, i)
		}
		return b.String() + last
	}
	cases := []struct {
		name   string
		header string // raw bytes of the header lines, each ending in CRLF
		want   expect
	}{
		{"empty value", "Cookie: session_id=\r\n", fresh},
		{"slash", "Cookie: session_id=/\r\n", fresh},
		{"a/b", "Cookie: session_id=a/b\r\n", fresh},
		{"dot", "Cookie: session_id=.\r\n", fresh},
		{"dot dot", "Cookie: session_id=..\r\n", fresh},
		{"reserved __x__", "Cookie: session_id=__x__\r\n", fresh},
		{"36-byte traversal", "Cookie: session_id=" + strings.Repeat("../", 12) + "\r\n", fresh},
		{"36-byte reserved", "Cookie: session_id=__" + strings.Repeat("x", 32) + "__\r\n", fresh},
		{"4,000 bytes", "Cookie: session_id=" + strings.Repeat("a", 4000) + "\r\n", fresh},
		{"upper-case id", "Cookie: session_id=" + strings.ToUpper(id) + "\r\n", fresh},
		{"braced id", "Cookie: session_id={" + id + "}\r\n", fresh},
		{"urn id", "Cookie: session_id=urn:uuid:" + id + "\r\n", fresh},
		{"version 1 UUID", "Cookie: session_id=" + "6ba7b810-9dad-11d1-80b4-00c04fd430c8" + "\r\n", fresh},
		{"unknown id", "Cookie: session_id=" + other + "\r\n", fresh},
		{"quoted id", "Cookie: session_id=\"" + id + "\"\r\n", freshOrKnown},
		{"control bytes", "Cookie: session_id=\x01\x02\x1b[31m\r\n", freshOrRejects},
		{"NUL", "Cookie: session_id=ab\x00cd\r\n", freshOrRejects},
		{"DEL", "Cookie: session_id=ab\x7fcd\r\n", freshOrRejects},
		{"id then NUL", "Cookie: session_id=" + id + "\x00\r\n", freshOrRejects},
		{"invalid UTF-8", "Cookie: session_id=\xff\xfe\xc3\x28\r\n", fresh},
		{"invalid UTF-8 after id", "Cookie: session_id=" + id + "\xff\r\n", fresh},
		{"100 cookies, session last", "Cookie: " + many(100, "session_id="+id) + "\r\n", known},
		{"100 cookies, no session", "Cookie: " + many(100, "other=x") + "\r\n", fresh},
		{"two session_id, junk first", "Cookie: session_id=../x; session_id=" + id + "\r\n", known},
		{"two session_id, known first", "Cookie: session_id=" + id + "; session_id=" + other + "\r\n", known},
		{"two session_id, unknown first", "Cookie: session_id=" + other + "; session_id=" + id + "\r\n", freshOrKnown},
		{"two Cookie headers", "Cookie: a=1\r\nCookie: session_id=" + id + "\r\n", known},
		{"64 KB value", "Cookie: session_id=" + strings.Repeat("b", 64<<10) + "\r\n", fresh},
		{"64 KB of cookies, session last", "Cookie: " + strings.Repeat("pad=0123456789abcdef; ", 64<<10/22) + "session_id=" + id + "\r\n", known},
		{"2 MB header", "Cookie: session_id=" + strings.Repeat("c", 2<<20) + "\r\n", rejected},
		{"CRLF injection", "Cookie: session_id=x\r\nSet-Cookie: injected=1\r\n", fresh},
		{"CRLF injection of a header", "Cookie: session_id=x\r\nX-Injected: 1\r\n", fresh},
		{"bare CR injection", "Cookie: session_id=x\rSet-Cookie: injected=1\r\n", freshOrRejects},
		{"bare LF injection", "Cookie: session_id=x\nSet-Cookie: injected=1\r\n", freshOrRejects},
		{"folded line injection", "Cookie: session_id=x\r\n Set-Cookie: injected=1\r\n", freshOrRejects},
		{"encoded CRLF", "Cookie: session_id=%0d%0aSet-Cookie:%20injected=1\r\n", fresh},
		{"cookie name injection", "Cookie: session_id\r\n=injected\r\n", freshOrRejects},
	}
	var results []result
	answers := map[int]int{}
	for _, c := range cases {
		r := rawVisit(g.Addr, c.header)
		results = append(results, r.result)
		answers[r.Status]++
		what := fmt.Sprintf("%s: %v", c.name, r)
		if r.Status == http.StatusInternalServerError {
			t.Errorf("%s; a 500", what)
			continue
		}
		if strings.Contains(strings.ToLower(r.Body), "injected") || strings.Contains(strings.ToLower(r.rawHeaders), "injected") {
			t.Errorf("%s; the injected text is in the answer:\n%s", what, r.rawHeaders)
		}
		isRejected := r.Status == http.StatusBadRequest || r.Status == http.StatusRequestHeaderFieldsTooLarge ||
			(c.want == rejected && r.Status == 0) // closed after the server refused the headers
		isFresh := r.Status == http.StatusOK && r.Err == nil && r.Views == 1 && sessionID.MatchString(r.Got) && !issued[r.Got] && !strings.Contains(c.header, r.Got)
		// The known session goes on without a Set-Cookie: the cookie is sent
		// only when it changes.
		isKnown := r.Status == http.StatusOK && r.Err == nil && r.Got == "" && r.Views == views+1
		ok := false
		switch c.want {
		case fresh:
			ok = isFresh
		case known:
			ok = isKnown
		case freshOrKnown:
			ok = isFresh || isKnown
		case rejected:
			ok = isRejected
		case freshOrRejects:
			ok = isFresh || isRejected
		}
		if !ok {
			t.Errorf("%s; want %v", what, c.want)
		}
		if isRejected && r.Got != "" {
			t.Errorf("%s; a rejected request sets a session cookie", what)
		}
		switch {
		case isKnown:
			views++
		case isFresh:
			issued[r.Got] = true
		}
		t.Logf("%-32s → %d %s", c.name, r.Status, truncate(r.Body, 60))
	}
	checkDocuments(t, host, project, issued)
	if stored := storedViews(t, host, project, []string{id})[id]; stored != views {
		t.Errorf("known session: %d views stored, %d counted by the test", stored, views)
	}
	g.checkNoPanic(t)

	tl := count(results)
	x.set(tl)
	x.update(func(x *row) {
		x.Lost = "0"
		x.Notes = fmt.Sprintf("%d hostile requests: %d fresh sessions, %d of the known session, %d × 400, %d × 431, %d closed, 0 × 500; %d documents, all sessions/<issued id>",
			len(cases), len(issued)-1, views-1, answers[400], answers[431], answers[0], len(issued))
	})
}

// rawResult is a result with the answer's header block as sent.
type rawResult struct {
	result
	rawHeaders string
}

// rawVisit sends GET / with header (raw header lines) on a connection of
// its own and reads the answer.
func rawVisit(addr, header string) rawResult {
	r := rawResult{result: result{Start: time.Now()}}
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		r.Err = err
		r.End = time.Now()
		return r
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(deadline + margin))
	req := "GET / HTTP/1.1\r\nHost: " + addr + "\r\n" + header + "Connection: close\r\n\r\n"
	// The server may answer (431) and close before it has read it all.
	go func() { _, _ = io.WriteString(conn, req) }()
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	r.End = time.Now()
	if err != nil {
		r.Err = err
		return r
	}
	defer resp.Body.Close()
	var hb strings.Builder
	_ = resp.Header.Write(&hb)
	r.rawHeaders = hb.String()
	b, err := io.ReadAll(resp.Body)
	r.End = time.Now()
	r.Status, r.Body = resp.StatusCode, string(b)
	if err != nil {
		r.Err = err
		return r
	}
	for _, c := range resp.Cookies() {
		if c.Name == cookieName {
			r.Got = c.Value
		}
	}
	for _, v := range resp.Header.Values("Set-Cookie") {
		if !strings.HasPrefix(v, cookieName+"=") {
			r.Err = fmt.Errorf("an unexpected Set-Cookie %q", v)
		}
	}
	if r.Status == http.StatusOK && r.Err == nil {
		var err error
		if r.Views, r.Greeting, err = greeterdrive.ParsePage(r.Body); err != nil {
			r.Err = err
		}
	}
	return r
}
