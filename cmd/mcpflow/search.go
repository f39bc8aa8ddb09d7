package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/mcpflow/mcpflow/ragcache"
)

const searchDetails = `
Searches the standards the server would search (--standards, else
<root>/.mcpflow/standards, else <root>/.praxis-os/standards in a prAxIs OS
project without .mcpflow, else the built-in samples) and prints the ranked
sections with their file, section, score and a short excerpt, or with --json
the whole result as JSON. Flags may follow the query.`

func searchCmd(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) (*command, error) {
	c := newCommand("search", "QUERY...", "Search the project's standards from the shell.", searchDetails)
	var (
		f      folderFlags
		limit  int
		phase  optInt
		tags   listFlag
		asJSON bool
	)
	fs := c.fs
	fs.StringVar(&f.root, "root", ".", "project `folder` holding .mcpflow/standards (or a prAxIs OS project's .praxis-os/standards)")
	fs.StringVar(&f.standards, "standards", "", "standards `folder` (default <root>/.mcpflow/standards, else built-in samples)")
	fs.IntVar(&limit, "limit", ragcache.DefaultLimit, fmt.Sprintf("number of results, 1 to %d", ragcache.MaxLimit))
	fs.Var(&phase, "phase", "only sections of this phase `number`")
	fs.Var(&tags, "tag", "only sections with this `tag` (repeat, or separate with commas)")
	fs.BoolVar(&asJSON, "json", false, "print the result as JSON")
	lf := addLogFlags(fs, "warn")
	pos, err := c.parse(args, getenv)
	if err != nil {
		return c, err
	}
	text := strings.TrimSpace(strings.Join(pos, " "))
	if text == "" {
		return c, usagef("no query; give the words to search for, e.g. mcpflow search error handling")
	}
	if limit < 1 || limit > ragcache.MaxLimit {
		return c, usagef("--limit %d: must be 1 to %d", limit, ragcache.MaxLimit)
	}
	dirs, err := f.resolve(false)
	if err != nil {
		return c, err
	}
	ix, err := ragcache.Open(ctx, ragcache.Config{Dir: dirs.standards, Logger: lf.logger(stderr), Progress: stderr})
	if err != nil {
		return c, fmt.Errorf("--standards %s: %w", show(dirs.standards), err)
	}
	defer func() { _ = ix.Close() }()
	q := ragcache.Query{Text: text, Limit: limit, Tags: tags}
	if phase.set {
		q.Phase = &phase.v
	}
	r, err := ix.Search(ctx, q)
	if err != nil {
		if qe, ok := errors.AsType[*ragcache.QueryError](err); ok {
			name := map[string]string{"query": "QUERY", "limit": "--limit", "phase": "--phase", "tags": "--tag"}[qe.Field]
			if name == "" {
				name = qe.Field
			}
			return c, usagef("%s: %s", name, qe.Problem)
		}
		return c, err
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return c, enc.Encode(r)
	}
	return c, ragcache.WriteText(stdout, r)
}
