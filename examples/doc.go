// Package examples holds examples of the sessions middleware with other
// modules' routers, in a module of its own so that the library's module
// does not depend on them. See docs/frameworks.md.
package examples
