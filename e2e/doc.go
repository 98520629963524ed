// Package e2e holds OHO's end-to-end tests. They build the real worker and
// starter binaries and drive a whole review cycle through the command line,
// as staff would, against the Temporal dev server and PostgreSQL that
// `make test` brings up; the browser tests drive the web pages in Debian's
// Chromium (browser_test.go). They fail, never skip, when a service or the
// browser is missing.
package e2e
