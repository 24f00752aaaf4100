// Package exectracetest holds tests of client/go that read the execution trace
// back with golang.org/x/exp/trace: the task and log event of every span, and
// the windows the flight recorder sends. It has no code of its own.
package exectracetest
