//go:build !unix

package main

// hungUp is not known here: the monitor ends by a key or a signal.
func hungUp(uintptr) bool { return false }
