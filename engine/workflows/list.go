package workflows

import "io/fs"

// Info describes one workflow of a workflows folder, as List returns it.
type Info struct {
	// Name is the folder name, which is also its workflow_type when the
	// definition is valid.
	Name              string      `json:"name"`
	WorkflowType      string      `json:"workflow_type"`
	Version           string      `json:"version"`
	Title             string      `json:"title,omitempty"`
	Description       string      `json:"description"`
	EstimatedDuration string      `json:"estimated_duration,omitempty"`
	TotalPhases       TotalPhases `json:"total_phases"`
	// Phases is the number of phases the metadata lists.
	Phases int `json:"phases"`
	// Problems lists what Validate finds wrong with the workflow; the
	// engine refuses to start a workflow with problems.
	Problems []string `json:"problems"`
	// Category is metadata.json's category, or "".
	Category string `json:"category,omitempty"`
	// Metadata is metadata.json as written (see Metadata.Raw), nil when
	// it cannot be read.
	Metadata map[string]any `json:"-"`
}

// List describes every workflow of fsys, sorted by name, with the problems
// Validate finds in each. It fails only when fsys cannot be listed; a
// workflow whose metadata.json cannot be read is listed by name with its
// problems.
func List(fsys fs.FS) ([]Info, error) {
	names, err := Names(fsys)
	if err != nil {
		return nil, err
	}
	out := make([]Info, 0, len(names))
	for _, name := range names {
		info := Info{Name: name, Problems: []string{}}
		for _, p := range validateWorkflow(fsys, name) {
			info.Problems = append(info.Problems, p.String())
		}
		if m, err := ReadMetadata(fsys, name); err == nil {
			info.WorkflowType, info.Version, info.Title = m.WorkflowType, m.Version, m.Name
			info.Description, info.EstimatedDuration = m.Description, m.EstimatedDuration
			info.TotalPhases, info.Phases = m.TotalPhases, len(m.Phases)
			info.Category, info.Metadata = m.Category, m.Raw
		}
		out = append(out, info)
	}
	return out, nil
}
