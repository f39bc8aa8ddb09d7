//go:build !linux

package main

// testChild: no child roles off Linux.
func testChild() (int, bool) { return 0, false }
