// Package e2e holds OHO's end-to-end tests. They build the real worker and
// starter binaries and drive a whole review cycle through the command line,
// as staff would, against the Temporal dev server and PostgreSQL that
// `make test` brings up. They fail, never skip, when a service is missing.
package e2e
