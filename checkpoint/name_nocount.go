//go:build !countchecks

package checkpoint

// countNameCheck counts workflow-name checks in a build with -tags
// countchecks (name_count.go); here it does nothing.
func countNameCheck() {}
