package spec

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ParseFile parses the tasks file that path names on disk: path itself
// when it is a markdown file, path/tasks.md when it is a folder, as a
// Loader resolves a spec path. The plan's Source is that file's path.
// Errors name the path; they wrap ErrNotFound when nothing is there,
// ErrInvalidArgument when path names something else, and ErrInvalidSpec
// when the file does not parse.
//
// ParseFile reads path as given, inside no project folder: it is for a
// person checking a spec (mcpflow spec check). Agents' spec paths go
// through a Loader, which keeps them inside the project.
func ParseFile(path string) (*Plan, error) {
	name := path
	fi, err := os.Stat(name)
	if err == nil && fi.IsDir() {
		name = filepath.Join(path, TasksFile)
		if fi, err = os.Stat(name); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s has no %s; pass a spec folder that holds one, or the markdown file itself", ErrNotFound, path, TasksFile)
		}
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("%w: %s does not exist; pass a spec folder or its %s", ErrNotFound, path, TasksFile)
	case err != nil:
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalidArgument, name, err)
	case !fi.Mode().IsRegular() || !strings.HasSuffix(name, ".md"):
		return nil, fmt.Errorf("%w: %s must be a spec folder holding %s, or a markdown file", ErrInvalidArgument, name, TasksFile)
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalidArgument, name, err)
	}
	defer func() { _ = f.Close() }()
	data, err := io.ReadAll(io.LimitReader(f, MaxTasksBytes+1))
	if err != nil {
		return nil, fmt.Errorf("spec: read %s: %w", name, err)
	}
	return Parse(data, name)
}
