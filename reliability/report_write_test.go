package reliability

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The report replaces its generated section, and only it, however often it
// is written.
func TestReportKeepsTheProse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "R.md")
	prose := "# Title\n\nBefore.\n\n" + beginMarker + "\nold figures\n" + endMarker + "\n\n## After\n\nA longer text after the section, " +
		strings.Repeat("longer than the section itself, ", 20) + "to catch a writer that overwrites it.\n"
	if err := os.WriteFile(path, []byte(prose), 0o644); err != nil {
		t.Fatal(err)
	}
	var r report
	r.rows = []*row{{Case: "0. Test", Target: "none", Lost: "0", Result: "pass", Notes: "a | b"}}
	for range 3 {
		if err := r.write(path, time.Second); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got := string(b)
	before, rest, _ := strings.Cut(prose, beginMarker)
	_, after, _ := strings.Cut(rest, endMarker)
	if !strings.HasPrefix(got, before+beginMarker) || !strings.HasSuffix(got, endMarker+after) ||
		strings.Count(got, beginMarker) != 1 || strings.Count(got, endMarker) != 1 {
		t.Fatalf("after three writes:\n%s", got)
	}
	if strings.Contains(got, "old figures") || !strings.Contains(got, "| 0. Test | none |") || !strings.Contains(got, `a \| b`) {
		t.Errorf("generated section not replaced:\n%s", got)
	}
}
