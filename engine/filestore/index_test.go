package filestore

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/engine/state"
	"github.com/mcpflow/mcpflow/engine/storetest"
)

func newIndexStore(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := New(dir)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	s.noSync = true
	return s
}

// listIDs walks every page of s with page size 10.
func listIDs(t *testing.T, s *Store, status state.Status) []string {
	t.Helper()
	var ids []string
	q := state.PageQuery{Status: status, Limit: 10}
	for range 1000 {
		p, err := s.ListPage(t.Context(), q)
		require.NoError(t, err)
		for i := range p.Sessions {
			ids = append(ids, p.Sessions[i].SessionID)
		}
		if p.Next == nil {
			return ids
		}
		q.After = p.Next
	}
	t.Fatal("the listing never ends")
	return nil
}

// TestFileIndexPageReadsNoFile: a page is served from the index: after
// every state file was overwritten in place behind the store's back (no
// Store, so no journal entry), pages still hold the summaries the
// store saved, and cost no file read. The session is re-read when it is
// loaded.
func TestFileIndexPageReadsNoFile(t *testing.T) {
	dir := t.TempDir()
	s := newIndexStore(t, dir)
	ctx := t.Context()
	var ids []string
	for range 30 {
		st := storetest.State()
		_, err := s.Save(ctx, st, 0)
		require.NoError(t, err)
		ids = append(ids, st.SessionID)
	}
	for _, id := range ids {
		require.NoError(t, os.WriteFile(filepath.Join(dir, id+".json"), []byte("garbage"), 0o600))
	}
	p, err := s.ListPage(ctx, state.PageQuery{Limit: 30})
	require.NoError(t, err)
	require.Len(t, p.Sessions, 30)
	for i := range p.Sessions {
		assert.Empty(t, p.Sessions[i].Error, "no file was read")
	}
	_, _, err = s.Load(ctx, ids[0])
	require.ErrorIs(t, err, state.ErrCorrupt)
}

// TestFileIndexJournalOverrun: another process (a second Store on the
// folder) makes more changes than the journal holds between two lists of
// this one; this one then re-reads the folder and lists exactly what is
// there. A journal overwritten with garbage does the same.
func TestFileIndexJournalOverrun(t *testing.T) {
	dir := t.TempDir()
	a, b := newIndexStore(t, dir), newIndexStore(t, dir)
	ctx := t.Context()
	assert.Empty(t, listIDs(t, b, ""))
	want := map[string]bool{}
	var first string
	for i := range journalSlots + 50 {
		st := storetest.State()
		_, err := a.Save(ctx, st, 0)
		require.NoError(t, err)
		if i == 0 {
			first = st.SessionID
			continue
		}
		want[st.SessionID] = true
	}
	require.NoError(t, a.Delete(ctx, first))
	got := listIDs(t, b, "")
	assert.Len(t, got, len(want))
	for _, id := range got {
		assert.True(t, want[id], "listed %s", id)
	}

	// Garbage in the journal's slots: b cannot tell what changed, and
	// re-reads the folder.
	st := storetest.State()
	_, err := a.Save(ctx, st, 0)
	require.NoError(t, err)
	want[st.SessionID] = true
	seq := a.journalSeq()
	_, err = a.lockFile.WriteAt([]byte("not a session id, not at all: junk!"), 8+int64(seq%journalSlots)*journalSlot)
	require.NoError(t, err)
	got = listIDs(t, b, "")
	assert.Len(t, got, len(want))
	assert.Contains(t, got, st.SessionID)
}

// TestFileIndexSeesOtherProcessesChanges: creates, status changes and
// deletes through another Store reach this one's filtered pages
// through the journal, one file read per change.
func TestFileIndexSeesOtherProcessesChanges(t *testing.T) {
	dir := t.TempDir()
	a, b := newIndexStore(t, dir), newIndexStore(t, dir)
	ctx := t.Context()
	st := storetest.State()
	_, err := a.Save(ctx, st, 0)
	require.NoError(t, err)
	assert.Equal(t, []string{st.SessionID}, listIDs(t, b, state.StatusActive))
	done := *st
	done.Status = state.StatusCompleted
	_, err = a.Save(ctx, &done, 1)
	require.NoError(t, err)
	assert.Empty(t, listIDs(t, b, state.StatusActive))
	assert.Equal(t, []string{st.SessionID}, listIDs(t, b, state.StatusCompleted))
	require.NoError(t, a.Delete(ctx, st.SessionID))
	assert.Empty(t, listIDs(t, b, ""))
	assert.Equal(t, a.journalSeq(), b.synced, "b applied every change")
}
