//go:build !countchecks

package state

// countParse counts ParseSessionID calls in a build with -tags
// countchecks (sessionid_count.go); here it does nothing.
func countParse() {}
