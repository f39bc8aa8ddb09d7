package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/mcpflow/mcpflow/engine"
)

// withFlagRemedy appends to err what the operator does about it in terms
// of the flags (or environment variables) they set, where there is such a
// remedy; n names a flag as this command was given it (--state, or
// MCPFLOW_STATE when it came from the environment). The engine's messages
// say what is wrong; this is the one place that names flags for them.
func withFlagRemedy(err error, n func(string) string) error {
	if errors.Is(err, engine.ErrFolderInUse) {
		state := n("state")
		sep := "="
		if strings.HasPrefix(state, "--") {
			sep = " "
		}
		return fmt.Errorf("%w; stop that server, or give this one another %s folder (or %s%sredis://... to share sessions between servers)", err, state, state, sep)
	}
	return err
}
