package main

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/mcpflow/mcpflow/engine/filestore"
	"github.com/mcpflow/mcpflow/engine/state"
)

// projectDir is the folder under --root that holds a project's content;
// praxisDir is prAxIs OS's, used when a project has no projectDir.
const (
	projectDir = ".mcpflow"
	praxisDir  = ".praxis-os"
)

// The layouts resolve reports.
const (
	layoutMcpflow = "mcpflow"
	layoutPraxis  = "praxis-os"
)

// builtin is how logs and get_server_info name the built-in samples.
const builtin = "builtin"

// folderFlags are the folder flags of serve, search and workflows.
type folderFlags struct {
	root, workflows, standards, state string
}

// praxisStateDir is where prAxIs OS keeps sessions, under .praxis-os,
// beside its index (.cache/vector_index); legacyStateDir is where mcpflow
// kept them in a prAxIs OS project before it used prAxIs OS's folder.
var (
	praxisStateDir = filepath.Join(".cache", "state")
	legacyStateDir = "state"
)

// defaultStateDir returns the state folder of a project whose folders
// come from base in layout: prAxIs OS's .praxis-os/.cache/state in its
// layout, else base/state. In the prAxIs OS layout legacy is the folder an
// older mcpflow used there, .praxis-os/state.
func defaultStateDir(base, layout string) (dir, legacy string) {
	if layout == layoutPraxis {
		return filepath.Join(base, praxisStateDir), filepath.Join(base, legacyStateDir)
	}
	return filepath.Join(base, "state"), ""
}

// folders are the resolved, absolute folders. An empty workflows or
// standards folder means the built-in samples.
type folders struct {
	root, workflows, standards, state string
	// layout is "praxis-os" when the folders come from <root>/.praxis-os,
	// else "mcpflow".
	layout string
	// legacyState is <root>/.praxis-os/state when the state folder is the
	// default .praxis-os/.cache/state and that older folder exists: its
	// sessions are moved over at start (moveLegacySessions).
	legacyState string
}

// show returns dir, or "builtin" for the samples.
func show(dir string) string {
	if dir == "" {
		return builtin
	}
	return dir
}

// resolve works out the folders: an explicit flag must name an existing
// folder (the state folder is created); otherwise <root>/.mcpflow/<name> is
// used when it exists, and the built-in samples when it does not. The state
// folder defaults to <root>/.mcpflow/state, created when needState is set.
// A root without .mcpflow but with a .praxis-os folder (a prAxIs OS
// project) is served from .praxis-os the same way, with prAxIs OS's own
// state folder, .praxis-os/.cache/state. Errors name the flag and the
// folder.
func (f folderFlags) resolve(needState bool) (folders, error) {
	var out folders
	root := f.root
	if root == "" {
		root = "."
	}
	abs, err := existingDir("--root", root)
	if err != nil {
		return out, err
	}
	out.root = abs
	base, layout := projectBase(abs)
	out.layout = layout
	pick := func(flagName, given, sub string) (string, error) {
		if given != "" {
			return existingDir(flagName, given)
		}
		def := filepath.Join(base, sub)
		fi, err := os.Stat(def)
		switch {
		case err == nil && fi.IsDir():
			return def, nil
		case err == nil:
			return "", fmt.Errorf("%s is not a folder; remove it, or point %s at a folder", def, flagName)
		case errors.Is(err, fs.ErrNotExist):
			return "", nil
		default:
			return "", fmt.Errorf("%s: %w (set %s to another folder)", def, err, flagName)
		}
	}
	if out.workflows, err = pick("--workflows", f.workflows, "workflows"); err != nil {
		return out, err
	}
	if out.standards, err = pick("--standards", f.standards, "standards"); err != nil {
		return out, err
	}
	if !needState {
		return out, nil
	}
	stateDir, flagName := f.state, "--state"
	if stateDir == "" {
		var legacy string
		stateDir, legacy = defaultStateDir(base, layout)
		flagName = "--root"
		if legacy != "" {
			if fi, err := os.Stat(legacy); err == nil && fi.IsDir() {
				out.legacyState = legacy
			}
		}
	}
	if stateDir, err = filepath.Abs(stateDir); err != nil {
		return out, fmt.Errorf("%s: %w", flagName, err)
	}
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return out, fmt.Errorf("cannot create the state folder %s: %w; point --state at a writable folder", stateDir, err)
	}
	if fi, err := os.Stat(stateDir); err != nil || !fi.IsDir() {
		return out, fmt.Errorf("the state folder %s is not a folder; point --state at a folder", stateDir)
	}
	out.state = stateDir
	return out, nil
}

// existingDir returns dir as an absolute path if it is a folder.
func existingDir(flagName, dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", flagName, dir, err)
	}
	fi, err := os.Stat(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("%s %s: no such folder", flagName, dir)
	case err != nil:
		return "", fmt.Errorf("%s %s: %w", flagName, dir, err)
	case !fi.IsDir():
		return "", fmt.Errorf("%s %s: not a folder", flagName, dir)
	}
	return abs, nil
}

// projectBase returns the folder of root that holds the project's content
// and its layout: <root>/.mcpflow, unless only <root>/.praxis-os exists.
func projectBase(root string) (string, string) {
	mine := filepath.Join(root, projectDir)
	if _, err := os.Stat(mine); err == nil {
		return mine, layoutMcpflow
	}
	theirs := filepath.Join(root, praxisDir)
	if fi, err := os.Stat(theirs); err == nil && fi.IsDir() {
		return theirs, layoutPraxis
	}
	return mine, layoutMcpflow
}

// moveLegacySessions moves the session files mcpflow wrote to
// .praxis-os/state, before it used prAxIs OS's folder, into the state
// folder, each with one rename, and logs what it moved. It does nothing
// when another mcpflow server holds the old folder (that server still uses
// it), and leaves a session whose ID the state folder already has where it
// is, with a warning. Files that are not sessions (locks, server.json)
// stay.
func (d folders) moveLegacySessions(log *slog.Logger) {
	if d.legacyState == "" {
		return
	}
	lock, err := filestore.LockStateDir(d.legacyState)
	if err != nil {
		log.Warn("sessions in the old state folder are not moved: another server uses it", "from", d.legacyState, "to", d.state, "err", err)
		return
	}
	defer func() { _ = lock.Close() }()
	entries, err := os.ReadDir(d.legacyState)
	if err != nil {
		log.Warn("cannot read the old state folder; its sessions are not moved", "from", d.legacyState, "err", err)
		return
	}
	moved := 0
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || !e.Type().IsRegular() {
			continue
		}
		if canon, err := state.ParseSessionID(id); err != nil || canon.String() != id {
			continue
		}
		from, to := filepath.Join(d.legacyState, e.Name()), filepath.Join(d.state, e.Name())
		if _, err := os.Lstat(to); err == nil {
			log.Warn("a session is in both state folders; the old copy is left where it is", "session_id", id, "kept", to, "left", from)
			continue
		}
		if err := os.Rename(from, to); err != nil {
			log.Warn("cannot move a session to the state folder", "session_id", id, "from", from, "to", to, "err", err)
			continue
		}
		moved++
	}
	if moved > 0 {
		log.Info("moved sessions from the old state folder to prAxIs OS's", "sessions", moved, "from", d.legacyState, "to", d.state)
	}
}
