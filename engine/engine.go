package engine

import (
	"context"
	"fmt"

	"github.com/mcpflow/mcpflow/metrics"
)

// Engine runs workflows and keeps their sessions.
//
// An Engine is safe for concurrent use by multiple goroutines without
// additional locking. Create one with New and release it with Close.
type Engine struct{}

var errPending = fmt.Errorf("%w: engine under construction", ErrClosed)

// New returns an Engine configured by cfg.
func New(cfg Config) (*Engine, error) { return &Engine{}, nil }

// Close releases the engine's caches and folders.
func (e *Engine) Close() error { return nil }

// ListWorkflows describes every workflow of the workflows folder.
func (e *Engine) ListWorkflows(ctx context.Context) ([]WorkflowInfo, error) { return nil, errPending }

// Start starts or resumes a session.
func (e *Engine) Start(ctx context.Context, workflowType, targetFile string, options map[string]any) (*StartResult, error) {
	return nil, errPending
}

// CurrentPhase returns the session's current phase.
func (e *Engine) CurrentPhase(ctx context.Context, sessionID string) (*PhaseView, error) {
	return nil, errPending
}

// Task returns one task of the current phase or of a completed phase.
func (e *Engine) Task(ctx context.Context, sessionID string, phase, taskNumber int) (*TaskView, error) {
	return nil, errPending
}

// CompletePhase submits evidence for the current phase.
func (e *Engine) CompletePhase(ctx context.Context, sessionID string, phase int, evidence map[string]any) (*CompleteResult, error) {
	return nil, errPending
}

// State returns a copy of the session's state.
func (e *Engine) State(ctx context.Context, sessionID string) (*SessionState, error) {
	return nil, errPending
}

// ListSessions lists sessions by status: "" for all, "active" or "completed".
func (e *Engine) ListSessions(ctx context.Context, status string) ([]SessionSummary, error) {
	return nil, errPending
}

// DeleteSession deletes a session's state file and its cache entry.
func (e *Engine) DeleteSession(ctx context.Context, sessionID string) error { return errPending }

// Metrics returns the session and gate cache counters.
func (e *Engine) Metrics() map[string]metrics.Snapshot { return nil }
