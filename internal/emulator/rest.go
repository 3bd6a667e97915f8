package emulator

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
)

// Documents returns the sorted paths, relative to the documents root (for
// example "sessions/abc" or "a/b/c/d"), of every document in the default
// database of projectID on the emulator at host: documents of every
// collection at any depth, and also "missing" documents, which do not exist
// themselves but have subcollections with documents (such as "a/b" when only
// "a/b/c/d" was written; the console and a list with showMissing show them).
// A test can thus prove that nothing at all was written at a path a visitor
// chose.
//
// It runs, as the emulator's admin ("Bearer owner"), a REST query over all
// collections at any depth; the missing documents are exactly the ancestors
// of the documents found that are not documents found themselves. (Walking
// the tree with listCollectionIds instead fails on document IDs that contain
// a colon: the emulator takes the colon for the start of the method name,
// even when percent-encoded.)
func Documents(ctx context.Context, host, projectID string) ([]string, error) {
	var results []struct {
		Document *struct {
			Name string `json:"name"`
		} `json:"document"`
	}
	query := map[string]any{"structuredQuery": map[string]any{
		"from": []any{map[string]any{"allDescendants": true}},
	}}
	if err := call(ctx, http.MethodPost, docsURL(host, projectID)+":runQuery", query, &results); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, res := range results {
		if res.Document == nil {
			continue // a progress message holding only a read time
		}
		p, err := relPath(projectID, res.Document.Name)
		if err != nil {
			return nil, err
		}
		// p and its ancestor documents: "a/b/c/d" and "a/b". IDs never
		// hold a slash.
		segs := strings.Split(p, "/")
		for n := len(segs); n >= 2; n -= 2 {
			seen[strings.Join(segs[:n], "/")] = true
		}
	}
	paths := make([]string, 0, len(seen))
	for p := range seen {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	return paths, nil
}

// Reset deletes every document of projectID's default database on the
// emulator at host.
func Reset(ctx context.Context, host, projectID string) error {
	u := baseURL(host) + "/emulator/v1/projects/" + escape(projectID) + "/databases/(default)/documents"
	return call(ctx, http.MethodDelete, u, nil, nil)
}

// docsURL returns the REST URL of the documents root of projectID's default
// database.
func docsURL(host, projectID string) string {
	return baseURL(host) + "/v1/projects/" + escape(projectID) + "/databases/(default)/documents"
}

// relPath turns a document resource name into a path relative to the
// documents root.
func relPath(projectID, name string) (string, error) {
	prefix := "projects/" + projectID + "/databases/(default)/documents/"
	p, ok := strings.CutPrefix(name, prefix)
	if !ok || p == "" {
		return "", fmt.Errorf("emulator: unexpected document name %q", name)
	}
	return p, nil
}

// call sends a JSON request with the emulator's admin token and decodes a
// JSON answer into out (unless nil).
func call(ctx context.Context, method, u string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return fmt.Errorf("emulator: %w", err)
	}
	req.Header.Set("Authorization", "Bearer owner")
	// The emulator answers 404 to a POST without this header.
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("emulator: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("emulator: %s %s: %w", method, u, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("emulator: %s %s: %s: %s", method, u, resp.Status, bytes.TrimSpace(b))
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("emulator: %s %s: decoding answer: %w", method, u, err)
		}
	}
	return nil
}

// baseURL turns "host:port" (or a URL) into "http://host:port".
func baseURL(host string) string {
	if strings.Contains(host, "://") {
		return strings.TrimRight(host, "/")
	}
	return "http://" + host
}

// escape percent-encodes everything in a path segment but the unreserved
// characters.
func escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
