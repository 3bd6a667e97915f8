package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/google/pprof/profile"
)

// micro holds the median figures of each micro-benchmark, by visitor and
// lib ("new", "ours").
type micro map[[2]string]*benchFigures

type benchFigures struct {
	ns, bytes, allocs []float64
}

func (f *benchFigures) median() (ns, bytes, allocs float64) {
	return medianOf(f.ns), medianOf(f.bytes), medianOf(f.allocs)
}

func (f *benchFigures) fastest() (ns, allocs float64) {
	return slices.Min(f.ns), slices.Min(f.allocs)
}

func medianOf(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

var benchLine = regexp.MustCompile(`^BenchmarkSession/visitor=(\w+)/lib=(\w+)(?:-\d+)?\s+\d+\s+(.*)$`)

// parseMicro reads `go test -bench -benchmem` output.
func parseMicro(out []byte) (micro, error) {
	m := micro{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		g := benchLine.FindStringSubmatch(sc.Text())
		if g == nil {
			continue
		}
		key := [2]string{g[1], g[2]}
		f := m[key]
		if f == nil {
			f = &benchFigures{}
			m[key] = f
		}
		fields := strings.Fields(g[3])
		for i := 0; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				return nil, fmt.Errorf("benchmark line %q: %w", sc.Text(), err)
			}
			switch fields[i+1] {
			case "ns/op":
				f.ns = append(f.ns, v)
			case "B/op":
				f.bytes = append(f.bytes, v)
			case "allocs/op":
				f.allocs = append(f.allocs, v)
			}
		}
	}
	if len(m) == 0 {
		return nil, fmt.Errorf("no BenchmarkSession results in the output:\n%s", out)
	}
	return m, nil
}

// runs returns how many runs each benchmark had (of bare, returning).
func (m micro) runs() int {
	if f, ok := m[[2]string{"returning", "bare"}]; ok {
		return len(f.ns)
	}
	return 0
}

// overhead is a contender's cost above the bare handler.
type overhead struct{ ns, allocs, bytes float64 }

func (m micro) overhead(visitor, lib string) (overhead, bool) {
	b, okb := m[[2]string{visitor, "bare"}]
	c, okc := m[[2]string{visitor, lib}]
	if !okb || !okc {
		return overhead{}, false
	}
	bns, bb, ba := b.median()
	cns, cb, ca := c.median()
	return overhead{ns: cns - bns, allocs: ca - ba, bytes: cb - bb}, true
}

// fastestOverhead is overhead from the fastest run of each contender: on a
// shared machine, a check of the medians that is less sensitive to load from
// elsewhere.
func (m micro) fastestOverhead(visitor, lib string) (overhead, bool) {
	b, okb := m[[2]string{visitor, "bare"}]
	c, okc := m[[2]string{visitor, lib}]
	if !okb || !okc || len(b.ns) == 0 || len(c.ns) == 0 {
		return overhead{}, false
	}
	bns, ba := b.fastest()
	cns, ca := c.fastest()
	return overhead{ns: cns - bns, allocs: ca - ba}, true
}

// goCmd runs the go command in the bench module and returns its output.
func goCmd(args ...string) ([]byte, error) {
	cmd := exec.Command("go", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("go %s: %w\n%s%s", strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return out, nil
}

// runMicro runs every micro-benchmark count times. The rounds interleave
// (all contenders once, then all again, ...) rather than repeating one
// contender count times in a row as go test -count does, so that a burst of
// load from elsewhere on a shared machine spreads over all contenders
// instead of skewing one.
func runMicro(count int, benchtime string) ([]byte, error) {
	dir, err := os.MkdirTemp("", "bench-micro-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "bench.test")
	if _, err := goCmd("test", "-c", "-o", bin, "."); err != nil {
		return nil, err
	}
	var all []byte
	for i := range count {
		cmd := exec.Command(bin, "-test.run", "^$", "-test.bench", ".", "-test.benchmem",
			"-test.count", "1", "-test.benchtime", benchtime)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return nil, fmt.Errorf("micro-benchmarks, round %d: %w\n%s%s", i+1, err, out, stderr.Bytes())
		}
		all = append(all, out...)
	}
	return all, nil
}

// allocSite is one line of the library and the allocations made under it.
type allocSite struct {
	where  string // file:line function
	perOp  float64
	source string
}

// allocProfile runs the returning- or new-visitor benchmark of ours with
// every allocation recorded, and attributes each allocation to the
// innermost frame of the library (not of bench) on its stack, so that a
// context.WithTimeout allocation shows up at the library line that called
// it, with that frame's library caller. Allocations with no library frame,
// or made by the benchmark's handler, are the benchmark's own (request,
// recorder, page) and are left out.
func allocProfile(dir, visitor string, ops int) ([]allocSite, float64, error) {
	prof := filepath.Join(dir, "mem-"+visitor+".pprof")
	bin := filepath.Join(dir, "bench.test")
	_, err := goCmd("test", "-run", "^$", "-bench", "Session/visitor="+visitor+"/lib=ours$", "-benchmem",
		"-benchtime", fmt.Sprintf("%dx", ops), "-memprofile", prof, "-memprofilerate", "1", "-o", bin, ".")
	if err != nil {
		return nil, 0, err
	}
	defer os.Remove(bin)
	defer os.Remove(prof)
	f, err := os.Open(prof)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	p, err := profile.Parse(f)
	if err != nil {
		return nil, 0, err
	}
	idx := -1
	for i, st := range p.SampleType {
		if st.Type == "alloc_objects" {
			idx = i
		}
	}
	if idx < 0 {
		return nil, 0, fmt.Errorf("%s: no alloc_objects samples", prof)
	}
	const lib = "github.com/firestore-sessions/sessions."
	const benchPkg = "github.com/firestore-sessions/sessions/bench."
	sites := map[string]float64{}
	var total float64
	for _, s := range p.Sample {
		n := float64(s.Value[idx])
		var frames []string // library frames, leaf first
		handler := false    // the benchmark's handler made it
	stack:
		for _, loc := range s.Location { // leaf first
			for _, ln := range loc.Line { // innermost (inlined) first
				if ln.Function == nil {
					continue
				}
				name := ln.Function.Name
				switch {
				case strings.HasPrefix(name, benchPkg):
					handler = len(frames) == 0
					break stack
				case strings.HasPrefix(name, lib):
					frames = append(frames, fmt.Sprintf("%s:%d %s", filepath.Base(ln.Function.Filename), ln.Line, strings.TrimPrefix(name, lib)))
				}
			}
		}
		// The handler's own allocations, and those of the recorder that the
		// response writer only passes writes on to, are bare's too.
		if handler || len(frames) == 0 || strings.Contains(frames[0], "(*responseWriter).Write") {
			continue
		}
		key := frames[0]
		if len(frames) > 1 {
			_, caller, _ := strings.Cut(frames[1], " ")
			key += " ← " + caller
		}
		sites[key] += n
		total += n
	}
	out := make([]allocSite, 0, len(sites))
	for k, n := range sites {
		out = append(out, allocSite{where: k, perOp: n / float64(ops)})
	}
	slices.SortFunc(out, func(a, b allocSite) int {
		if a.perOp != b.perOp {
			if a.perOp > b.perOp {
				return -1
			}
			return 1
		}
		return strings.Compare(a.where, b.where)
	})
	for i := range out {
		out[i].source = sourceLine(out[i].where)
	}
	return out, total / float64(ops), nil
}

// sourceLine returns the trimmed source text of "file.go:N func" in the
// library's directory (the parent of bench), or "".
func sourceLine(where string) string {
	fileLine, _, _ := strings.Cut(where, " ")
	file, lineStr, _ := strings.Cut(fileLine, ":")
	line, err := strconv.Atoi(lineStr)
	if err != nil {
		return ""
	}
	b, err := os.ReadFile(filepath.Join("..", file))
	if err != nil {
		return ""
	}
	ls := strings.Split(string(b), "\n")
	if line < 1 || line > len(ls) {
		return ""
	}
	return strings.TrimSpace(ls[line-1])
}
