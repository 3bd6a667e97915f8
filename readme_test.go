package sessions_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/firestore-sessions/sessions/internal/emulator"
	"github.com/firestore-sessions/sessions/internal/freeport"
)

// readmeProgram returns the README's first Go code block: the program
// that shows the package's use.
func readmeProgram(t *testing.T) string {
	t.Helper()
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "\n```go\n")
	if !ok {
		t.Fatal("README.md has no ```go block")
	}
	code, _, ok := strings.Cut(rest, "\n```\n")
	if !ok {
		t.Fatal("README.md: the first ```go block does not end")
	}
	return code + "\n"
}

// pageHandler returns the statement `page := http.HandlerFunc(...)` of
// src, from its first line to the closing `})` at the same indentation.
func pageHandler(t *testing.T, name, src string) string {
	t.Helper()
	const start = "page := http.HandlerFunc("
	i := strings.Index(src, start)
	if i < 0 {
		t.Fatalf("%s: no %q", name, start)
	}
	lineStart := strings.LastIndexByte(src[:i], '\n') + 1
	indent := src[lineStart:i]
	end := strings.Index(src[i:], "\n"+indent+"})\n")
	if end < 0 {
		t.Fatalf("%s: %q does not end", name, start)
	}
	return src[lineStart : i+end+len(indent)+4]
}

// The README's program compiles, serves its page from the memory store and
// from Firestore (the emulator), and keeps a visitor's session between
// requests over http://localhost; the Example shows the same page handler.
func TestREADMEProgram(t *testing.T) {
	program := readmeProgram(t)
	if !strings.HasPrefix(program, "package main\n") {
		t.Fatalf("README.md's first Go block is not a whole program:\n%s", program)
	}
	example, err := os.ReadFile("example_readme_test.go")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := pageHandler(t, "README.md", program), pageHandler(t, "example_readme_test.go", string(example)); got != want {
		t.Errorf("the README's page handler:\n%s\ndiffers from Example_readme's:\n%s", got, want)
	}

	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	if err := os.WriteFile(src, []byte(program), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "readme")
	// Built from this directory, the program resolves the package from the
	// repository (go.work), not from a published version.
	if out, err := exec.Command("go", "build", "-o", bin, src).CombinedOutput(); err != nil {
		t.Fatalf("go build README.md's program: %v\n%s", err, out)
	}

	t.Run("memory", func(t *testing.T) {
		visitREADMEProgram(t, bin, "sessions in memory (this process only)")
	})
	t.Run("firestore", func(t *testing.T) {
		host := emulator.Require(t)
		project := emulator.ProjectID(t)
		visitREADMEProgram(t, bin, "sessions in the Firestore emulator at "+host+", project "+project,
			"FIRESTORE_EMULATOR_HOST="+host, "GOOGLE_CLOUD_PROJECT="+project)
	})
	// The emulator alone is enough: the program picks a demo project.
	t.Run("emulator", func(t *testing.T) {
		host := emulator.Require(t)
		visitREADMEProgram(t, bin, "sessions in the Firestore emulator at "+host+", project demo-local",
			"FIRESTORE_EMULATOR_HOST="+host)
	})
}

// visitREADMEProgram runs bin with env and PORT, and visits it as a browser
// would, checking each page; once it has stopped, it checks that the
// program logged wantLog, the store it uses, in one line.
func visitREADMEProgram(t *testing.T, bin, wantLog string, env ...string) {
	port := freeport.For(t)
	var out bytes.Buffer
	cmd := exec.Command(bin)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "PORT=" + strconv.Itoa(port)}, env...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Kill()
		<-exited
		if n := strings.Count(out.String(), wantLog+"\n"); n != 1 {
			t.Errorf("the program logged %q %d times, want once", wantLog, n)
		}
		if t.Failed() {
			t.Logf("the program said:\n%s", out.String())
		}
	}()

	// The program does not say when it listens: poll until it accepts a
	// connection, or exits.
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for deadline := time.Now().Add(30 * time.Second); ; {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("the program exited before serving: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("the program does not accept connections on %s", addr)
		}
	}

	// The cookie is Secure, and named __Host-: over plain HTTP, a client
	// sends it back to localhost only.
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	base := fmt.Sprintf("http://localhost:%d", port)
	for _, step := range []struct {
		path, want string
	}{
		{"/?name=Ada", "view 1, name \"Ada\"\n"},
		{"/", "view 2, name \"Ada\"\n"},
		{"/favicon.ico", "404 page not found\n"},
		{"/", "view 3, name \"Ada\"\n"},
	} {
		resp, err := client.Get(base + step.path)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if string(body) != step.want {
			t.Errorf("GET %s: %d %q, want %q", step.path, resp.StatusCode, body, step.want)
		}
	}
}
