package spec

import (
	"fmt"

	"github.com/mcpflow/mcpflow/internal/mdnest"
)

// checkDepth returns an error naming the first line, outside fenced code,
// whose block quote and list markers exceed mdnest's nesting limits: such
// a file could keep goldmark busy for minutes, and no task breakdown
// nests that deep.
func checkDepth(src []byte) error {
	if ln := mdnest.FirstTooDeep(src); ln > 0 {
		return fmt.Errorf("line %d: is nested deeper than a task breakdown needs (more than %d block quote or list levels, or a marker past column %d); flatten it", ln, mdnest.MaxMarkers, mdnest.MaxColumn)
	}
	return nil
}
