package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
)

// maxWalk bounds the entries a glob with ** or a modification-time scan
// looks at.
const maxWalk = 200_000

// errWalkLimit ends a walk at maxWalk entries.
var errWalkLimit = errors.New("checkpoint: too many files")

func (c *Checker) filesExist(ch *Check, ev map[string]any, r *CheckResult) *failure {
	paths := slices.Clone(ch.Paths)
	if ch.PathField != "" {
		more, f := evidencePaths(ev, ch.PathField)
		if f != nil {
			return f
		}
		paths = append(paths, more...)
	}
	found := 0
	for _, p := range paths {
		if !hasMeta(p) {
			if _, f := c.statInRoot(p); f != nil {
				return f
			}
			found++
			continue
		}
		matches, err := c.glob(p)
		if err != nil {
			return fail(fmt.Sprintf("glob %s: %v", p, err), "narrow the glob")
		}
		if len(matches) == 0 {
			return fail(fmt.Sprintf("no file in the project folder matches %s", p), "create a file matching "+p+", or correct the glob")
		}
		for _, m := range matches {
			if _, f := c.statInRoot(m); f != nil {
				return f
			}
		}
		found += len(matches)
	}
	r.Message = fmt.Sprintf("%d file(s) found for %s", found, strings.Join(paths, ", "))
	return nil
}

// glob returns the project files matching pattern, sorted.
func (c *Checker) glob(pattern string) ([]string, error) {
	fsys := c.root.FS()
	if !strings.Contains(pattern, "**") {
		return fs.Glob(fsys, pattern)
	}
	var out []string
	n := 0
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		n++
		if n > maxWalk {
			return errWalkLimit
		}
		if d.IsDir() && d.Name() == ".git" {
			return fs.SkipDir
		}
		if p != "." && matchGlob(pattern, p) {
			out = append(out, p)
		}
		return nil
	})
	if errors.Is(err, errWalkLimit) {
		return nil, fmt.Errorf("the project has more than %d files; use a glob without **", maxWalk)
	}
	return out, err
}

// hasMeta reports whether p is a glob.
func hasMeta(p string) bool { return strings.ContainsAny(p, `*?[`) }

// matchGlob reports whether name matches pattern: path.Match element by
// element, with ** matching any number of elements, and a pattern also
// matching everything under a folder it names.
func matchGlob(pattern, name string) bool {
	pe, ne := strings.Split(pattern, "/"), strings.Split(name, "/")
	return matchElems(pe, ne) || matchElems(append(pe, "**"), ne)
}

func matchElems(pe, ne []string) bool {
	for len(pe) > 0 {
		if pe[0] == "**" {
			for i := 0; i <= len(ne); i++ {
				if matchElems(pe[1:], ne[i:]) {
					return true
				}
			}
			return false
		}
		if len(ne) == 0 {
			return false
		}
		if ok, _ := path.Match(pe[0], ne[0]); !ok {
			return false
		}
		pe, ne = pe[1:], ne[1:]
	}
	return len(ne) == 0
}

// changedSince returns the project files changed since start, and how that
// was found out.
func (c *Checker) changedSince(ctx context.Context, start PhaseStart) ([]string, string, error) {
	if start.Git && start.Head != "" {
		files, err := c.gitChanged(ctx, start.Head)
		if err == nil {
			if !start.Dirty {
				return files, "git", nil
			}
			// Files dirty when the phase opened show in the diff whether
			// or not they changed since: keep those modified after it.
			var out []string
			for _, f := range files {
				fi, err := c.root.Lstat(f)
				if err != nil || fi.ModTime().After(start.OpenedAt) {
					out = append(out, f)
				}
			}
			return out, "git+mtime", nil
		}
		c.log.Warn("git could not list changes; falling back to modification times", "err", err)
	}
	files, err := c.modifiedAfter(start)
	return files, "mtime", err
}

// modifiedAfter lists the project's files modified after start, skipping
// .git folders.
func (c *Checker) modifiedAfter(start PhaseStart) ([]string, error) {
	var out []string
	n := 0
	err := fs.WalkDir(c.root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		n++
		if n > maxWalk {
			return errWalkLimit
		}
		if d.IsDir() {
			if d.Name() == ".git" || c.ignored(p) {
				return fs.SkipDir
			}
			return nil
		}
		if fi, err := d.Info(); err == nil && fi.ModTime().After(start.OpenedAt) {
			out = append(out, p)
		}
		return nil
	})
	if errors.Is(err, errWalkLimit) {
		return out, fmt.Errorf("the project has more than %d files; put it in git so that changes are asked of git", maxWalk)
	}
	return out, err
}

func (c *Checker) filesChanged(ctx context.Context, ch *Check, ev map[string]any, start PhaseStart, r *CheckResult) *failure {
	want := slices.Clone(ch.Paths)
	if ch.PathField != "" {
		more, f := evidencePaths(ev, ch.PathField)
		if f != nil {
			return f
		}
		want = append(want, more...)
	}
	changed, method, err := c.changedSince(ctx, start)
	r.Method = method
	if err != nil {
		return fail("cannot list the changes since the phase opened ("+method+"): "+err.Error(), "put the project in git")
	}
	if len(want) == 0 {
		if len(changed) == 0 {
			return fail(fmt.Sprintf("nothing in the project changed since the phase opened at %s (asked %s)", start.OpenedAt.Format("2006-01-02T15:04:05Z07:00"), method), "do the phase's work in the project folder, then complete the phase")
		}
		r.Message = fmt.Sprintf("%d file(s) changed since the phase opened (asked %s), for example %s", len(changed), method, changed[0])
		return nil
	}
	var missing []string
	for _, w := range want {
		if !slices.ContainsFunc(changed, func(f string) bool { return matchGlob(w, f) }) {
			missing = append(missing, w)
		}
	}
	if len(missing) > 0 {
		return fail(fmt.Sprintf("not changed since the phase opened (asked %s): %s", method, strings.Join(missing, ", ")), "change "+strings.Join(missing, ", ")+" as the phase asks, or correct the paths")
	}
	r.Message = fmt.Sprintf("changed since the phase opened (asked %s): %s", method, strings.Join(want, ", "))
	return nil
}

func (c *Checker) bypass(ctx context.Context, start PhaseStart, r *CheckResult) *failure {
	changed, method, err := c.changedSince(ctx, start)
	r.Method = method
	if err != nil {
		return fail("cannot list the changes since the phase opened ("+method+"): "+err.Error(), "put the project in git")
	}
	if len(changed) == 0 {
		return fail(fmt.Sprintf("this phase changes code, and nothing in the project changed since it opened at %s (asked %s): the phase looks bypassed", start.OpenedAt.Format("2006-01-02T15:04:05Z07:00"), method), "do the phase's work in the project folder before completing it")
	}
	r.Message = fmt.Sprintf("%d file(s) changed since the phase opened (asked %s)", len(changed), method)
	return nil
}
