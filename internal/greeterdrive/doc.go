// Package greeterdrive runs the greeter (cmd/greeter) as processes of its
// own and drives them as browsers would: it builds the binary, starts any
// number of instances on free loopback ports (against a Firestore emulator,
// or whatever the caller's environment names), sends visitors' requests,
// and reads the greeter's page. The greeter's tests, the benchmarks (bench/)
// and the reliability tests (reliability/) all use it, so the greeter's page
// is parsed in one place and its processes are started in one way.
//
// It does not import the library (the library's own tests use the page
// parser), and nothing in it depends on package testing: callers wrap its
// errors in their own failures.
package greeterdrive
