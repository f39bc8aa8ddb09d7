package checkpoint

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"
)

func (c *Checker) command(ctx context.Context, ch *Check, r *CheckResult) *failure {
	line := strings.Join(ch.Argv, " ")
	if !c.allow {
		return fail(fmt.Sprintf("%v: the gate runs %q, and this server was started without --allow-gate-commands", ErrCommandsDisabled, line), "restart mcpflow serve with --allow-gate-commands to let gates run their commands, or ask whoever runs the server to; the phase cannot pass this check otherwise")
	}
	res := runProc(ctx, c.dir, ch.Argv, nil, ch.Timeout, ch.OutputTail)
	out := string(res.out)
	if res.cut {
		out = "..." + trimInvalid(out)
	}
	r.Output = out
	switch {
	case res.timedOut:
		r.TimedOut = true
		return fail(fmt.Sprintf("%q did not finish within %v and was killed with its process group", line, ch.Timeout), "make the command finish within its timeout, or raise the gate's timeout")
	case ctx.Err() != nil:
		return fail(fmt.Sprintf("%q was stopped: the call ended (%v)", line, ctx.Err()), "complete the phase again")
	case res.exitCode == 0:
		r.Message = fmt.Sprintf("%q exited with status 0", line)
		return nil
	case res.exitCode > 0:
		return fail(fmt.Sprintf("%q exited with status %d", line, res.exitCode), "read the output, fix what it reports, then complete the phase again")
	}
	return fail(fmt.Sprintf("%q could not run: %v", line, res.err), "install the program or correct the gate's argv")
}

// trimInvalid drops a partial UTF-8 sequence the tail cut in two.
func trimInvalid(s string) string {
	for s != "" {
		r, size := utf8.DecodeRuneInString(s)
		if r != utf8.RuneError || size != 1 {
			break
		}
		s = s[1:]
	}
	return s
}
