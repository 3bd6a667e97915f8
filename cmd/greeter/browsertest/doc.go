// Package browsertest drives a real, headless Chromium against the greeter
// on the Firestore emulator. It is a module of its own so that chromedp
// never enters the sessions module's dependencies:
//
//	cd cmd/greeter/browsertest && go test ./...
//
// Without Chromium at /usr/bin/chromium (apt-get install chromium) the test
// skips, except under CI=true, where it fails.
package browsertest
