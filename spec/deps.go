package spec

import (
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// taskRef matches a task ID in free text: "1.2", or "1-2" as some specs
// write it.
var taskRef = regexp.MustCompile(`\b(\d{1,4})[.-](\d{1,4})\b`)

// DependencyIDs returns the task IDs ("N.M") that the task's
// **Dependencies:** field names, in the order written and each once. A
// field that names no task ID is returned as its comma-separated items.
// A field that starts with "None" (any case), as in "None (can run in
// parallel with 1.2)", or that is empty, means no dependencies.
func (t *Task) DependencyIDs() []string {
	text := strings.TrimSpace(t.Dependencies)
	if text == "" || startsWithWord(text, "none") {
		return []string{}
	}
	var ids []string
	seen := map[string]bool{}
	for _, m := range taskRef.FindAllStringSubmatch(text, -1) {
		n, _ := strconv.Atoi(m[1])
		k, _ := strconv.Atoi(m[2])
		id := strconv.Itoa(n) + "." + strconv.Itoa(k)
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	if len(ids) > 0 {
		return ids
	}
	out := []string{}
	for item := range strings.SplitSeq(text, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// startsWithWord reports whether text starts with word, in any case, as a
// whole word.
func startsWithWord(text, word string) bool {
	if len(text) < len(word) || !strings.EqualFold(text[:len(word)], word) {
		return false
	}
	rest := text[len(word):]
	r, _ := utf8.DecodeRuneInString(rest)
	return rest == "" || !unicode.IsLetter(r)
}
