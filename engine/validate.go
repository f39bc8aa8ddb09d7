package engine

import "io/fs"

// Problem is one thing wrong with a workflow definition.
type Problem struct {
	// Workflow is the workflow folder name, or "" for the folder itself.
	Workflow string `json:"workflow"`
	// Field is the path of the file or field at fault, for example
	// metadata.json:phases[1].tasks[0].file.
	Field string `json:"field"`
	// Message says what is wrong and how to fix it.
	Message string `json:"message"`
}

// String formats p as "workflow: field: message".
func (p Problem) String() string {
	s := p.Message
	if p.Field != "" {
		s = p.Field + ": " + s
	}
	if p.Workflow != "" {
		s = p.Workflow + ": " + s
	}
	return s
}

// Validate lists every problem of every workflow in the folder dir. An
// empty result means the folder is valid.
func Validate(dir string) []Problem { return nil }

// ValidateFS is Validate on a file system, such as BuiltinWorkflows().
func ValidateFS(fsys fs.FS) []Problem { return nil }
