package engine

import "github.com/mcpflow/mcpflow/engine/workflows"

// PhaseDef is one phase as a workflow's metadata.json defines it, its
// fields named as the file names them.
type PhaseDef = workflows.PhaseDef

// DynamicConfig is a dynamic workflow's dynamic_config: where its phases
// come from and how they are shown.
type DynamicConfig = workflows.DynamicConfig

// WorkflowInfo is one workflow of the workflows folder, as ListWorkflows
// returns it: what its metadata.json says, and what is wrong with its
// definition.
type WorkflowInfo = workflows.Info

// Overview is a workflow's metadata.json as a person starting it reads
// it: its description, outputs and phases. Its slices and DynamicConfig
// are those of the metadata the engine read and must not be modified.
type Overview struct {
	WorkflowType string
	Version      string
	Description  string
	// TotalPhases is metadata.json's total_phases; for "dynamic", the
	// number of entries of its phases list, the entry that stands for
	// the spec's phases included, as prAxIs OS counts them.
	TotalPhases       int
	EstimatedDuration string
	PrimaryOutputs    []string
	// Phases are the phases metadata.json defines, in its order, without
	// the entry that stands for a dynamic workflow's spec phases.
	Phases        []PhaseDef
	DynamicPhases bool
	// DynamicConfig is nil for a workflow without dynamic_config.
	DynamicConfig *DynamicConfig
}

// Overview returns the workflow's overview as Start read it for the call,
// or nil when r carries no metadata.
func (r *StartResult) Overview() *Overview {
	m := r.workflow
	if m == nil {
		return nil
	}
	total := m.TotalPhases.N
	if m.TotalPhases.Dynamic {
		list, _ := m.Raw["phases"].([]any)
		total = len(list)
	}
	return &Overview{
		WorkflowType: m.WorkflowType, Version: m.Version, Description: m.Description, TotalPhases: total,
		EstimatedDuration: m.EstimatedDuration, PrimaryOutputs: m.PrimaryOutputs, Phases: m.Phases,
		DynamicPhases: m.DynamicPhases, DynamicConfig: m.DynamicConfig,
	}
}
