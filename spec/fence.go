package spec

import (
	"bytes"
	"strings"
)

// mendNestedFences lengthens the fences of a "```markdown" block that holds
// fenced blocks of its own, so that goldmark reads it as the author meant.
//
// Authors show a markdown file inside a spec by fencing it with
// "```markdown" and keep that file's own "```bash" ... "```" blocks as they
// are. By CommonMark the outer block ends at the inner block's closing
// "```", the outer closing "```" opens a new block, and the headings that
// follow (the next tasks) become code. Read as nested instead, each inner
// fence with an info string opens a level and each bare fence closes one;
// when that reading closes the outer block before the end of the file and
// elsewhere than CommonMark does, the outer opening and closing fences are
// made one character longer than every fence between them, which gives
// the nested reading under CommonMark too. Only whole lines change and no
// line is added, so line numbers stay those of the file. A block whose
// nested reading never closes keeps CommonMark's reading.
func mendNestedFences(src []byte) []byte {
	if !bytes.Contains(src, []byte("```")) {
		return src
	}
	lines := bytes.SplitAfter(src, []byte("\n"))
	// at lists the fence lines, each once.
	var at []int
	fences := make(map[int]fence)
	for i, l := range lines {
		if f, ok := fenceAt(l); ok {
			at = append(at, i)
			fences[i] = f
		}
	}
	changed := false
	for k := 0; k < len(at); {
		i := at[k]
		open := fences[i]
		md := open.info == "markdown" || open.info == "md"
		cmClose, nestClose, nestNext, depth, longest, nested, next := -1, -1, 0, 0, open.n, false, len(at)
		for kk, met := k+1, 0; kk < len(at) && met < maxNestedFences; kk++ {
			j := at[kk]
			f := fences[j]
			if f.ch != open.ch || f.n < open.n {
				continue
			}
			met++
			longest = max(longest, f.n)
			if f.info != "" {
				if md {
					depth++
					nested = true
				}
				continue
			}
			if cmClose < 0 {
				cmClose, next = j, kk+1
			}
			if !md || depth == 0 {
				nestClose, nestNext = j, kk+1
				break
			}
			depth--
		}
		if nested && nestClose >= 0 && nestClose != cmClose {
			lines[i] = lengthen(lines[i], open, longest+1)
			lines[nestClose] = lengthen(lines[nestClose], open, longest+1)
			changed = true
			next = nestNext
		} else if cmClose < 0 {
			// No closer among the next fences: look on for one, as
			// CommonMark does; without one the fence runs to the end.
			next = len(at)
			for kk := k + 1; kk < len(at); kk++ {
				if f := fences[at[kk]]; f.ch == open.ch && f.n >= open.n && f.info == "" {
					next = kk + 1
					break
				}
			}
		}
		k = next
	}
	if !changed {
		return src
	}
	return bytes.Join(lines, nil)
}

// maxNestedFences bounds the fences the nested reading of a block looks
// at, which keeps mendNestedFences linear: a markdown example holds a few
// fenced blocks, not dozens.
const maxNestedFences = 32

// fence is a code fence line: its character, its length, its indentation
// and its info string's first word, in lower case.
type fence struct {
	ch     byte
	n      int
	indent int
	info   string
}

// fenceAt reads line as a code fence: blanks, then three or more backticks
// or tildes, then an info string (which, after backticks, holds no
// backtick).
func fenceAt(line []byte) (fence, bool) {
	trimmed := bytes.TrimLeft(line, " \t")
	if len(trimmed) < 3 || (trimmed[0] != '`' && trimmed[0] != '~') {
		return fence{}, false
	}
	f := fence{ch: trimmed[0], indent: len(line) - len(trimmed)}
	for f.n < len(trimmed) && trimmed[f.n] == f.ch {
		f.n++
	}
	if f.n < 3 {
		return fence{}, false
	}
	rest := strings.TrimSpace(string(trimmed[f.n:]))
	if f.ch == '`' && strings.Contains(rest, "`") {
		return fence{}, false
	}
	if word, _, _ := strings.Cut(rest, " "); word != "" {
		f.info = strings.ToLower(word)
	}
	return f, true
}

// lengthen rewrites the fence run of line, which fenceAt read as f, to n
// characters.
func lengthen(line []byte, f fence, n int) []byte {
	out := make([]byte, 0, len(line)+n-f.n)
	out = append(out, line[:f.indent]...)
	out = append(out, bytes.Repeat([]byte{f.ch}, n)...)
	return append(out, line[f.indent+f.n:]...)
}
