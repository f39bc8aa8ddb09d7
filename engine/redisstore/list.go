package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/mcpflow/mcpflow/engine/state"
)

// maxSummaryBytes is the largest summary a list reads from a session's
// sum field; a larger one (which mcpflow never writes) is read again from
// the session's document, or reported as that session's error.
const maxSummaryBytes = 1 << 20

// maxPageRounds bounds the round trips of one page: a page that meets
// that many batches of expired sessions' leftover members ends early,
// with Next set.
const maxPageRounds = 4

// pageLookahead is how many members a page reads per round after its
// first round met leftovers.
const pageLookahead = 64

// listBatch is the SCAN COUNT of Reindex.
const listBatch = 256

// summaryJSON is what the save scripts write in a session's sum field,
// and the flag ("1" or "0") that puts it in idx:failed: an active
// session, not paused, whose last gate attempt failed.
func summaryJSON(st *state.SessionState) (sum, failed string, err error) {
	s := state.Summarize(st)
	b, err := json.Marshal(s)
	if err != nil {
		return "", "", state.Errorf(state.ErrInvalidArgument, "session_id %s: encode summary: %w", st.SessionID, err)
	}
	failed = "0"
	if s.GateFailed && !s.Paused {
		failed = "1"
	}
	return string(b), failed, nil
}

// unreadableSummary is the summary of a session that cannot be read.
func unreadableSummary(id string, err error) state.SessionSummary {
	return state.SessionSummary{SessionID: id, CompletedPhases: []int{}, Error: err.Error()}
}

// ListPage returns one page of sessions from the summary index (see
// state.Store.ListPage): one ZRANGE BYLEX and one script that reads the
// page's summaries, per round trip, at most maxPageRounds of them. The
// index is kept by the same scripts that save and delete, so a page is as
// current as a Load. A session whose key is not a hash is listed with its
// Error set; an expired session's leftover members are removed when a
// page meets them.
func (s *Store) ListPage(ctx context.Context, q state.PageQuery) (state.Page, error) {
	if err := q.Check(); err != nil {
		return state.Page{}, err
	}
	if err := ctx.Err(); err != nil {
		return state.Page{}, err
	}
	defer s.stats.observe(opList, time.Now())
	start := "-"
	if q.After != nil {
		start = "(" + q.After.String()
	}
	page := state.Page{Sessions: make([]state.SessionSummary, 0, q.Limit)}
	var last *state.ListKey
	for round := range maxPageRounds {
		// One more than needed tells whether the listing goes on; after a
		// round that met leftovers, look further ahead.
		fetch := q.Limit - len(page.Sessions) + 1
		if round > 0 {
			fetch = max(fetch, pageLookahead)
		}
		cctx, cancel := s.call(ctx)
		members, err := s.client.Do(cctx, s.client.B().Zrange().Key(s.listKey(q.Status)).Min(start).Max("+").Bylex().Limit(0, int64(fetch)).Build()).AsStrSlice()
		if err != nil {
			cancel()
			return state.Page{}, s.fail("list", "", err)
		}
		items, err := s.pageSummaries(cctx, members)
		cancel()
		if err != nil {
			return state.Page{}, err
		}
		for i := range items {
			if len(page.Sessions) == q.Limit {
				page.Next = last
				return page, nil
			}
			last = &items[i].key
			if sum := items[i].sum; sum != nil && state.Matches(sum, q.Status) {
				page.Sessions = append(page.Sessions, *sum)
			}
		}
		if len(members) < fetch {
			return page, nil // the listing is done
		}
		start = "(" + members[len(members)-1]
	}
	if last == nil {
		last = q.After
	}
	page.Next = last
	return page, nil
}

// pageItem is one member read by pageSummaries: its key, and its summary
// (nil when the session is gone).
type pageItem struct {
	key state.ListKey
	sum *state.SessionSummary
}

// pageSummaries reads the summaries of members, in order. Members that
// are not list keys (not written by mcpflow) are removed from the index
// and left out.
func (s *Store) pageSummaries(ctx context.Context, members []string) ([]pageItem, error) {
	if len(members) == 0 {
		return nil, nil
	}
	items := make([]pageItem, 0, len(members))
	rkeys := s.idxKeys()
	args := []string{strconv.Itoa(maxSummaryBytes)}
	for _, m := range members {
		k, err := state.ParseListKey(m)
		if err != nil {
			for _, z := range rkeys[:4] {
				_ = s.client.Do(ctx, s.client.B().Zrem().Key(z).Member(m).Build()).Error()
			}
			continue
		}
		items = append(items, pageItem{key: k})
		rkeys = append(rkeys, s.sessKey(k.ID))
		args = append(args, k.ID, m)
	}
	if len(items) == 0 {
		return nil, nil
	}
	res, err := pageScript.Exec(ctx, s.client, rkeys, args).ToArray()
	if err != nil {
		return nil, s.fail("list", "", err)
	}
	for i, r := range res {
		if i >= len(items) {
			break
		}
		id := items[i].key.ID
		vals, _ := r.ToArray()
		code := int64(-1)
		if len(vals) > 0 {
			code, _ = vals[0].AsInt64()
		}
		var sum state.SessionSummary
		switch code {
		case pageGone:
			continue
		case pageOK:
			js, _ := vals[1].ToString()
			if err := json.Unmarshal([]byte(js), &sum); err != nil || sum.SessionID != id {
				sum = s.summaryOfDoc(ctx, id)
			}
		case pageWrongType:
			t, _ := vals[1].ToString()
			sum = unreadableSummary(id, wrongType(id, t))
		default: // pageNoSummary
			sum = s.summaryOfDoc(ctx, id)
		}
		if sum.CompletedPhases == nil {
			sum.CompletedPhases = []int{}
		}
		items[i].sum = &sum
	}
	return items, nil
}

// summaryOfDoc summarizes a session from its document, for a session
// whose hash has no summary (saved by an older mcpflow).
func (s *Store) summaryOfDoc(ctx context.Context, id string) state.SessionSummary {
	st, _, err := s.load(ctx, id, -1)
	if err != nil {
		return unreadableSummary(id, err)
	}
	return state.Summarize(st)
}

// List returns every session, page by page (state.Store). It costs the
// whole store; clients are served with ListPage.
func (s *Store) List(ctx context.Context) ([]state.SessionSummary, error) {
	var out []state.SessionSummary
	q := state.PageQuery{Limit: state.MaxPageLimit}
	for {
		p, err := s.ListPage(ctx, q)
		if err != nil {
			return nil, err
		}
		out = append(out, p.Sessions...)
		if p.Next == nil {
			return out, nil
		}
		q.After = p.Next
	}
}

// reindexIfNeeded runs Reindex when the index's marker key is missing: on
// the first Open of a data set written by an mcpflow without the index,
// then sets the marker.
func (s *Store) reindexIfNeeded(ctx context.Context) error {
	cctx, cancel := s.call(ctx)
	n, err := s.client.Do(cctx, s.client.B().Exists().Key(s.idxKey("built")).Build()).AsInt64()
	cancel()
	if err != nil {
		return s.fail("open", "", err)
	}
	if n == 1 {
		return nil
	}
	if err := s.Reindex(ctx); err != nil {
		return err
	}
	cctx, cancel = s.call(ctx)
	defer cancel()
	if err := s.client.Do(cctx, s.client.B().Set().Key(s.idxKey("built")).Value("1").Build()).Error(); err != nil {
		return s.fail("open", "", err)
	}
	return nil
}

// Reindex adds every session key of the store's prefix to the summary
// index, with its summary: what Open does once for a data set saved by an
// mcpflow that kept no index, and what mends the index after keys were
// written by other means. It walks the keys with SCAN, one session at a
// time; sessions saved meanwhile are indexed by their save. A key that is
// not a hash, or whose document cannot be read, is indexed as that
// session's error, so that a list shows it and it can be deleted.
func (s *Store) Reindex(ctx context.Context) error {
	cursor := uint64(0)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		cctx, cancel := s.call(ctx)
		entry, err := s.client.Do(cctx, s.client.B().Scan().Cursor(cursor).Match(s.sessPattern()).Count(listBatch).Build()).AsScanEntry()
		cancel()
		if err != nil {
			return s.fail("reindex", "", err)
		}
		for _, k := range entry.Elements {
			id := s.idOfKey(k)
			if canon, err := state.ParseSessionID(id); err != nil || canon.String() != id {
				continue
			}
			if err := s.indexOne(ctx, id); err != nil {
				return err
			}
		}
		if cursor = entry.Cursor; cursor == 0 {
			return nil
		}
	}
}

// indexOne indexes session id as it is stored now.
func (s *Store) indexOne(ctx context.Context, id string) error {
	cctx, cancel := s.call(ctx)
	defer cancel()
	ver, member, status, sum, failed := "0", "", "", "", "0"
	r, err := s.probe(cctx, id, false)
	switch {
	case err != nil:
		if err = s.readErr(ctx, "reindex", id, err); !errors.Is(err, state.ErrCorrupt) {
			return err
		}
	case !r.exists:
		return nil
	case r.docLen <= int64(s.docLimit()):
		v, doc, ok, err := s.readDoc(cctx, id, false)
		if err != nil {
			return s.readErr(ctx, "reindex", id, err)
		}
		if !ok {
			return nil
		}
		if st, derr := decode(id, doc); derr == nil {
			if sum, failed, err = summaryJSON(st); err != nil {
				return err
			}
			ver, member, status = strconv.FormatInt(int64(v), 10), state.KeyOfState(st).String(), string(st.Status)
		}
	}
	if member == "" {
		member = state.KeyOf(&state.SessionSummary{SessionID: id, Error: "unreadable"}).String()
	}
	keys := append([]string{s.sessKey(id)}, s.idxKeys()...)
	if err := indexScript.Exec(cctx, s.client, keys, []string{id, ver, member, status, sum, failed}).Error(); err != nil {
		return s.fail("reindex", id, err)
	}
	return nil
}
