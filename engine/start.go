package engine

import (
	"context"
	"errors"
	"maps"

	"github.com/cespare/xxhash/v2"
	"github.com/google/uuid"
	"github.com/puzpuzpuz/xsync/v4"

	"github.com/mcpflow/mcpflow/checkpoint"
	"github.com/mcpflow/mcpflow/engine/state"
	"github.com/mcpflow/mcpflow/engine/workflows"
)

// Start starts a session of workflowType for targetFile, or resumes the
// active session of that pair if there is one (Resumed is then true).
// Concurrent Starts of one pair create one session and one state file.
// The stamp of the workflow's metadata.json is compared on every call and
// a changed file parsed again, so an edit is live on the next Start.
// options are stored in the session's metadata under "options".
//
// workflowType was checked where it entered the program
// (ParseWorkflowName); Start takes it as it is.
func (e *Engine) Start(ctx context.Context, workflowType WorkflowName, targetFile string, options map[string]any) (*StartResult, error) {
	if err := e.check(ctx); err != nil {
		return nil, err
	}
	if err := checkTarget(targetFile); err != nil {
		return nil, err
	}
	var opts map[string]any
	if len(options) > 0 {
		var err error
		if opts, err = checkpoint.CopyEvidence(options, e.maxEvidence); err != nil {
			return nil, evidenceError("options", "options: ", err)
		}
	}
	f, err := e.loadFlow(ctx, workflowType, opts, "options")
	if err != nil {
		return nil, err
	}
	order := f.order()
	if len(order) == 0 {
		return nil, state.Errorf(state.ErrCorrupt, "workflow_type %s: metadata.json lists no phases; add at least one phase", workflowType)
	}
	// A definition with problems would fail somewhere in the middle of
	// a session (a task file missing in phase 3, a gate that does not
	// parse): refuse it before anything is created.
	if problems := workflows.ValidateWorkflow(e.wfFS, workflowType.String()); len(problems) > 0 {
		return nil, state.Errorf(state.ErrCorrupt, "workflow_type %s is broken (%s); fix its definition first: mcpflow workflows lists every problem", workflowType, workflows.JoinProblems(problems))
	}
	// Read the first phase before creating anything, so that a workflow
	// whose content cannot be read leaves no session behind.
	pc, err := e.content(f, order[0])
	if err != nil {
		return nil, err
	}
	// The project's state is looked at before any lock is taken: git
	// may take a while, and the start locks are shared by other pairs.
	opened := e.openPhase(ctx, f, order[0])
	st, resumed, err := e.startLocked(ctx, workflowType, pairKey{workflowType.String(), targetFile}, order[0], opts, praxisMeta(f, opts, len(order)), opened)
	if err != nil {
		return nil, err
	}
	if resumed && f.m.DynamicPhases {
		// The resumed session keeps the spec it was started with.
		if f, err = e.flowOf(ctx, startedWorkflow(workflowType), st); err != nil {
			return nil, err
		}
		order = f.order()
	}
	if st.CurrentPhase != pc.Phase || st.Status != state.StatusActive || resumed && f.m.DynamicPhases {
		if pc, err = e.content(f, st.CurrentPhase); err != nil {
			return nil, err
		}
	}
	return &StartResult{
		SessionID:      st.SessionID,
		WorkflowType:   st.WorkflowType,
		TargetFile:     st.TargetFile,
		CurrentPhase:   st.CurrentPhase,
		PhaseName:      pc.PhaseName,
		PhaseContent:   pc.Content,
		Tasks:          pc.Tasks,
		TotalPhases:    len(order),
		ValidationGate: pc.ValidationGate,
		Source:         pc.Source,
		Checks:         pc.Checks,
		workflow:       f.m,
		Resumed:        resumed,
	}, nil
}

// startLocked finds or creates the pair's active session under the pair's
// start lock, so that concurrent Starts of one pair create one session.
// wf is k's workflow, parsed.
func (e *Engine) startLocked(ctx context.Context, wf WorkflowName, k pairKey, first int, opts, meta map[string]any, opened checkpoint.PhaseStart) (*state.SessionState, bool, error) {
	mu := &e.startLocks[xxhash.Sum64String(k.workflow+"\x00"+k.target)%uint64(len(e.startLocks))]
	if err := mu.LockContext(ctx); err != nil {
		return nil, false, err
	}
	defer mu.Unlock()
	if ss, ok := e.store.(state.SessionStarter); ok {
		return e.startShared(ctx, ss, wf, k, first, opts, meta, opened)
	}
	if id, ok := e.pairs.Load(k); ok {
		// The pair index holds IDs of state files this engine read or
		// wrote, all canonical: the parse is a scan.
		s, err := e.lookupString(ctx, id)
		if err == nil {
			st, gone := s.snapshot()
			if !gone && st.Status == state.StatusActive && st.WorkflowType == k.workflow && st.TargetFile == k.target {
				e.touch(id, s)
				return st, true, nil
			}
		} else if !errors.Is(err, state.ErrNotFound) && !errors.Is(err, state.ErrCorrupt) {
			return nil, false, err
		}
		e.pairs.Compute(k, func(old string, loaded bool) (string, xsync.ComputeOp) {
			if loaded && old == id {
				return "", xsync.DeleteOp
			}
			return old, xsync.CancelOp
		})
	}
	st := e.newState(k, first, opts, meta, opened)
	ver, err := e.store.Save(ctx, st, 0)
	if err != nil {
		return nil, false, err
	}
	e.notifyChanged()
	e.adopt(ctx, wf, st, ver)
	return st, false, nil
}

// praxisMeta returns the metadata keys prAxIs OS reads from a session it
// resumes: total_phases (its is_complete) and, for a dynamic workflow, the
// spec path under the workflow's source_path_key.
func praxisMeta(f *flow, opts map[string]any, total int) map[string]any {
	meta := map[string]any{"total_phases": total}
	if f.m.DynamicPhases {
		if sp, ok := opts[f.m.DynamicConfig.SourcePathKey].(string); ok {
			meta[f.m.DynamicConfig.SourcePathKey] = sp
		}
	}
	return meta
}

// newState returns the state of a new session of pair k on phase first,
// with opts under metadata "options", meta's keys in metadata, and the
// first phase's start record.
func (e *Engine) newState(k pairKey, first int, opts, meta map[string]any, opened checkpoint.PhaseStart) *state.SessionState {
	now := e.now()
	st := &state.SessionState{
		SessionID:       uuid.NewString(),
		WorkflowType:    k.workflow,
		TargetFile:      k.target,
		CurrentPhase:    first,
		CompletedPhases: []int{},
		PhaseArtifacts:  map[int]*state.PhaseArtifact{},
		Checkpoints:     map[int]state.CheckpointStatus{first: state.CheckpointPending},
		Status:          state.StatusActive,
		CreatedAt:       now,
		UpdatedAt:       now,
		Metadata:        make(map[string]any, len(meta)+1),
	}
	maps.Copy(st.Metadata, meta)
	if opts != nil {
		st.Metadata["options"] = opts
	}
	setPhaseStart(st, first, opened)
	return st
}

// adopt makes the session object of a session this engine just created
// and puts it in the cache and the pair index. wf is st's workflow_type,
// parsed.
func (e *Engine) adopt(ctx context.Context, wf WorkflowName, st *state.SessionState, ver state.Version) {
	sid, err := state.ParseSessionID(st.SessionID)
	if err != nil {
		// The store saved it, so it has a valid ID: not reached.
		e.logger.Warn("started session has an invalid ID; not cached", "session_id", st.SessionID, "err", err)
		return
	}
	c, _ := CallerFrom(ctx)
	s := &session{id: sid, st: st, ver: ver, wf: startedWorkflow(wf), loadedBy: c}
	s.touched.Store(e.now().UnixNano())
	e.sessions.Set(st.SessionID, s)
	e.pairs.Store(pairKey{st.WorkflowType, st.TargetFile}, st.SessionID)
	e.logger.Debug("session started", "session_id", st.SessionID, "workflow_type", st.WorkflowType, "target_file", st.TargetFile, "caller", c.String())
}

// startShared is Start's find-or-create on a SessionStarter store. The
// pair's start lock is held, so concurrent Starts in this process make
// one call.
func (e *Engine) startShared(ctx context.Context, ss state.SessionStarter, wf WorkflowName, k pairKey, first int, opts, meta map[string]any, opened checkpoint.PhaseStart) (*state.SessionState, bool, error) {
	got, ver, created, err := ss.CreateOrResume(ctx, e.newState(k, first, opts, meta, opened))
	if err != nil {
		return nil, false, err
	}
	if created {
		e.notifyChanged()
		e.adopt(ctx, wf, got, ver)
		return got, false, nil
	}
	s, err := e.lookupString(ctx, got.SessionID)
	if err != nil {
		return nil, false, err
	}
	st, err := s.refresh(ctx, got, ver)
	if err != nil {
		return nil, false, err
	}
	e.touch(got.SessionID, s)
	return st, true, nil
}
