package engine

import (
	"context"
)

// StartArgs is what starting a workflow takes, with what a person choosing
// it reads: the MCP prompts are built from it. It is read from the
// workflow's metadata.json.
type StartArgs struct {
	// Title is metadata.json's name; "" when it gives none.
	Title       string
	Description string
	// SpecOption is the Start option that names a dynamic workflow's spec
	// (dynamic_config.source_path_key, spec_path by default); "" for a
	// workflow that takes none.
	SpecOption string
	// SpecRequired is whether Start needs SpecOption: a dynamic workflow
	// whose folder ships an example spec runs without one.
	SpecRequired bool
	// Phases are the phases metadata.json lists, in its order.
	Phases []PhaseOutline
}

// PhaseOutline is one phase as a workflow's metadata.json lists it.
type PhaseOutline struct {
	Number  int
	Name    string
	Purpose string
	// Tasks is how many tasks metadata.json lists for the phase.
	Tasks int
}

// StartArgs returns what starting workflowType takes. The error wraps
// ErrNotFound for an unknown workflow (a folder without metadata.json)
// and ErrCorrupt for a bad metadata.json, as Start's does.
func (e *Engine) StartArgs(ctx context.Context, workflowType WorkflowName) (*StartArgs, error) {
	if err := e.check(ctx); err != nil {
		return nil, err
	}
	m, err := e.metadata(ctx, workflowType)
	if err != nil {
		return nil, err
	}
	a := &StartArgs{Title: m.Name, Description: m.Description, Phases: make([]PhaseOutline, len(m.Phases))}
	if m.DynamicPhases && m.DynamicConfig != nil {
		a.SpecOption, a.SpecRequired = m.DynamicConfig.SourcePathKey, m.DynamicConfig.ExampleSpec == ""
	}
	for i := range m.Phases {
		p := &m.Phases[i]
		a.Phases[i] = PhaseOutline{Number: p.PhaseNumber, Name: p.PhaseName, Purpose: p.Purpose, Tasks: len(p.Tasks)}
	}
	return a, nil
}
