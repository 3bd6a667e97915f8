//go:build race

package reliability

// raceEnabled reports whether the test binary runs with the race detector.
const raceEnabled = true
