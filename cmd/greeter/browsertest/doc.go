// Package browsertest drives a real, headless Chromium against the greeter
// on the Firestore emulator. It is a module of its own so that chromedp
// never enters the greeter's dependencies, nor its vendor/ when it is
// deployed:
//
//	cd cmd/greeter/browsertest && go test ./...
//
// Without Chromium at /usr/bin/chromium (apt-get install chromium) the test
// skips, except under CI=true, where it fails.
package browsertest
