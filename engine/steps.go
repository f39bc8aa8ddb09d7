package engine

import (
	"regexp"
	"sort"
	"strings"
)

// Step is one marked step of a task file, as prAxIs OS's task files mark
// them: a command to run ("🛑 EXECUTE-NOW: what" over a fenced shell
// block, with the evidence to record from a "📊 COUNT-AND-DOCUMENT: what"
// line soon after it) or a decision to make ("🔍 QUERY-AND-DECIDE: what").
type Step struct {
	// Type is "execute_command" or "decision_point".
	Type        string
	Description string
	// Command and EvidenceRequired are set for an execute_command step
	// (EvidenceRequired may be empty).
	Command          string
	EvidenceRequired string
}

var (
	executeStep = regexp.MustCompile("🛑\\s*EXECUTE-NOW[:\\s]*([^\\n]*)\\n```(?:bash|shell|sh)?\\n((?s:.*?))\\n```")
	evidenceFor = regexp.MustCompile(`📊\s*COUNT-AND-DOCUMENT[:\s]*([^\n]*)`)
	decideStep  = regexp.MustCompile(`🔍\s*QUERY-AND-DECIDE[:\s]*([^\n]*)`)
)

// evidenceWindow is how far after a command its evidence line is looked
// for, in bytes.
const evidenceWindow = 500

// Steps returns the marked steps of a task's markdown, in the order they
// appear, or [] when it marks none.
func Steps(content string) []Step {
	type at struct {
		pos  int
		step Step
	}
	var found []at
	for _, m := range executeStep.FindAllStringSubmatchIndex(content, -1) {
		s := Step{Type: "execute_command", Description: strings.TrimSpace(content[m[2]:m[3]]), Command: strings.TrimSpace(content[m[4]:m[5]])}
		if s.Description == "" {
			s.Description = "Execute command"
		}
		after := content[m[1]:min(len(content), m[1]+evidenceWindow)]
		if e := evidenceFor.FindStringSubmatch(after); e != nil {
			s.EvidenceRequired = strings.TrimSpace(e[1])
		}
		found = append(found, at{m[0], s})
	}
	for _, m := range decideStep.FindAllStringSubmatchIndex(content, -1) {
		found = append(found, at{m[0], Step{Type: "decision_point", Description: strings.TrimSpace(content[m[2]:m[3]])}})
	}
	sort.SliceStable(found, func(i, j int) bool { return found[i].pos < found[j].pos })
	out := make([]Step, len(found))
	for i := range found {
		out[i] = found[i].step
	}
	return out
}
