package checkpoint

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
)

// gitEnv is the environment of git calls: the server's, with output in
// English, no pager, no prompt, and no optional lock taken.
func gitEnv() []string {
	return append(os.Environ(), "LC_ALL=C", "GIT_PAGER=cat", "GIT_TERMINAL_PROMPT=0", "GIT_OPTIONAL_LOCKS=0")
}

// gitRun runs git with args in the project folder.
func (c *Checker) gitRun(ctx context.Context, args ...string) ([]byte, error) {
	res := runProc(ctx, c.dir, append([]string{c.git}, args...), gitEnv(), gitTimeout, maxGitOutput)
	switch {
	case res.timedOut:
		return nil, fmt.Errorf("git %s: no answer within %v", args[0], gitTimeout)
	case res.cut:
		return nil, fmt.Errorf("git %s: more than %d bytes of output", args[0], maxGitOutput)
	case res.err != nil:
		return nil, fmt.Errorf("git %s: %w: %s", args[0], res.err, bytes.TrimSpace(lastLine(res.out)))
	}
	return res.out, nil
}

func lastLine(b []byte) []byte {
	b = bytes.TrimSpace(b)
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		return b[i+1:]
	}
	return b
}

// gitStatus returns HEAD (or "" before the first commit) and whether the
// work tree has changes outside the ignored folders; ok is false when the
// folder is not in git.
func (c *Checker) gitStatus(ctx context.Context) (head string, dirty, ok bool) {
	if _, err := c.gitRun(ctx, "rev-parse", "--is-inside-work-tree"); err != nil {
		c.log.Debug("not in git; the phase start records the time only", "err", err)
		return "", false, false
	}
	var files []string
	var err error
	if out, herr := c.gitRun(ctx, "rev-parse", "--verify", "-q", "HEAD"); herr == nil {
		head = string(bytes.TrimSpace(out))
		files, err = c.gitChanged(ctx, head)
	} else {
		files, err = c.gitListAll(ctx)
	}
	if err != nil {
		c.log.Debug("git status failed; the phase start records the time only", "err", err)
		return "", false, false
	}
	return head, len(files) > 0, true
}

// gitChanged lists the files of the project folder that differ from
// commit base (committed since, staged or not) and the untracked ones,
// relative to the project folder.
func (c *Checker) gitChanged(ctx context.Context, base string) ([]string, error) {
	diff, err := c.gitRun(ctx, "diff", "--name-only", "--relative", "-z", "--no-renames", base, "--", ".")
	if err != nil {
		return nil, err
	}
	untracked, err := c.gitRun(ctx, "ls-files", "--others", "--exclude-standard", "-z", "--", ".")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, b := range [][]byte{diff, untracked} {
		for f := range strings.SplitSeq(string(b), "\x00") {
			if f != "" && !c.ignored(f) && !slices.Contains(out, f) {
				out = append(out, f)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

func (c *Checker) gitState(ctx context.Context, ch *Check, start PhaseStart, r *CheckResult) *failure {
	r.Method = "git"
	head, _, ok := c.gitStatus(ctx)
	if !ok {
		return fail("the project folder is not in a git work tree, or git cannot run", "put the project in git, or remove this check")
	}
	if ch.Require == GitCommitSinceStart {
		switch {
		case head == "":
			return fail("the repository has no commit yet", "commit the phase's work")
		case start.Git && head == start.Head:
			return fail("no commit since the phase opened: HEAD is still "+short(head), "commit the phase's work, then complete the phase")
		case !start.Git:
			return fail("the phase opened without git, so there is no commit to compare with", "start the phase again in a git work tree")
		}
		r.Message = fmt.Sprintf("HEAD moved from %s to %s since the phase opened", short(start.Head), short(head))
		return nil
	}
	var changed []string
	var err error
	if head == "" {
		changed, err = c.gitListAll(ctx)
	} else {
		changed, err = c.gitChanged(ctx, "HEAD")
	}
	if err != nil {
		return fail("cannot ask git for uncommitted changes: "+err.Error(), "check that git works in the project folder")
	}
	var dirty []string
	for _, f := range changed {
		if len(ch.Paths) == 0 || slices.ContainsFunc(ch.Paths, func(p string) bool { return matchGlob(p, f) }) {
			dirty = append(dirty, f)
		}
	}
	if len(dirty) > 0 {
		shown := dirty
		if len(shown) > 10 {
			shown = append(shown[:10:10], fmt.Sprintf("and %d more", len(dirty)-10))
		}
		return fail("uncommitted changes: "+strings.Join(shown, ", "), "commit (or discard) these changes, then complete the phase")
	}
	r.Message = "nothing uncommitted"
	if len(ch.Paths) > 0 {
		r.Message += " under " + strings.Join(ch.Paths, ", ")
	}
	return nil
}

// gitListAll lists staged and untracked files of a repository without
// commits.
func (c *Checker) gitListAll(ctx context.Context) ([]string, error) {
	out, err := c.gitRun(ctx, "ls-files", "--cached", "--others", "--exclude-standard", "-z", "--", ".")
	if err != nil {
		return nil, err
	}
	var files []string
	for f := range strings.SplitSeq(string(out), "\x00") {
		if f != "" && !c.ignored(f) {
			files = append(files, f)
		}
	}
	return files, nil
}

func short(oid string) string {
	if len(oid) > 12 {
		return oid[:12]
	}
	return oid
}
