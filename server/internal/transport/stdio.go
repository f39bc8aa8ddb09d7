package transport

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sync"
	"sync/atomic"
)

// StdioGate sits between the process's stdin and stdout and mcp-go's stdio
// transport. mcp-go cancels every call still running the moment its input
// ends, and drops tool calls still queued for a worker; the gate holds the
// end of input back until every request it has passed on is answered, so
// that stdin EOF and shutdown let in-flight calls finish. It also bounds
// the length of one message and, once the server is draining, answers new
// requests with an error instead of passing them on.
//
// A StdioGate is safe for one reader (mcp-go's read loop) and any number of
// concurrent writers, and its other methods for any goroutine. Writes are
// serialised by wmu, so a message written by the gate itself never
// interleaves with one written by mcp-go.
type StdioGate struct {
	r       *bufio.Reader
	maxLine int
	// limitNote follows maxLine in the refusal of a longer message: how
	// the operator sets it, in parentheses, or "".
	limitNote string
	// rest is the part of the current line not yet returned by Read. Only
	// the single reader touches it.
	rest []byte

	wmu sync.Mutex // serialises writes to w
	w   io.Writer

	mu sync.Mutex
	// pending counts requests passed on and not yet answered; idle is
	// non-nil while pending > 0 and closed when it drops back to 0. Both
	// are guarded by mu.
	pending int
	idle    chan struct{}

	// preflight answers the messages the server answers before mcp-go
	// sees them; read-only after NewStdioGate.
	preflight func(session string, msg []byte) []byte

	lmu    sync.Mutex
	listen listenState // guarded by lmu

	draining atomic.Bool
	eofOnce  sync.Once
	eof      chan struct{} // closed when stdin ends or fails
	stopOnce sync.Once
	stop     chan struct{} // closed to stop waiting for pending requests
}

// StdioSession is the ID mcp-go v1.2.1 gives its one stdio session, and
// the session the gate names to the preflight.
const StdioSession = "stdio"

// NewStdioGate reads messages from r and answers refusals on w. limitName
// is how the operator sets maxLine, for the refusal of a message over it,
// or "". preflight is required: it is called, with StdioSession, for every
// message before mcp-go sees it, and returns the whole JSON-RPC answer
// (written to w in the message's place) or nil to pass the message on.
// NewStdioGate panics when preflight is nil.
func NewStdioGate(r io.Reader, w io.Writer, maxLine int, limitName string, preflight func(session string, msg []byte) []byte) *StdioGate {
	if preflight == nil {
		panic("transport: NewStdioGate: preflight is nil")
	}
	return &StdioGate{
		r:         bufio.NewReaderSize(r, 64<<10),
		maxLine:   maxLine,
		limitNote: paren(limitName),
		preflight: preflight,
		w:         w,
		eof:       make(chan struct{}),
		stop:      make(chan struct{}),
	}
}

// errLineTooLong marks a message over the size limit; it never leaves the
// gate.
var errLineTooLong = errors.New("line too long")

// Read implements io.Reader for mcp-go's read loop.
func (g *StdioGate) Read(p []byte) (int, error) {
	for len(g.rest) == 0 {
		line, err := g.readLine()
		switch {
		case errors.Is(err, errLineTooLong):
			g.answerError(line, -32600, fmt.Sprintf("message is over %d bytes%s; send smaller arguments", g.maxLine, g.limitNote))
			continue
		case err != nil && len(line) == 0:
			g.eofOnce.Do(func() { close(g.eof) })
			g.WaitIdle()
			if errors.Is(err, io.EOF) {
				return 0, io.EOF
			}
			return 0, err
		}
		// A last line without a newline is still a message.
		if line[len(line)-1] != '\n' {
			line = append(line, '\n')
		}
		if !g.admit(line) {
			continue
		}
		g.rest = line
	}
	n := copy(p, g.rest)
	g.rest = g.rest[n:]
	return n, nil
}

// readLine returns the next line, newline included. A line over maxLine is
// consumed whole and returned as errLineTooLong with its first bytes, in
// which its ID usually is.
func (g *StdioGate) readLine() ([]byte, error) {
	var line []byte
	for {
		frag, err := g.r.ReadSlice('\n')
		if len(line)+len(frag) > g.maxLine {
			head := slices.Concat(line, frag[:min(len(frag), 4096)])
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = g.r.ReadSlice('\n')
			}
			return head, errLineTooLong
		}
		line = append(line, frag...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return line, err
	}
}

// admit decides whether line goes on to mcp-go, counting it when mcp-go
// will answer it with its ID. While draining, such requests get an error.
// It decodes the line's head once, for every step.
func (g *StdioGate) admit(line []byte) bool {
	h := readIn(line)
	id, answered := h.answered()
	if g.draining.Load() {
		if answered {
			g.writeError(id, -32000, "the server is shutting down; start it again and retry")
		}
		return false
	}
	if answer := g.preflight(StdioSession, line); answer != nil {
		g.WriteLine(answer)
		return false
	}
	g.observe(h)
	if answered {
		g.mu.Lock()
		if g.pending == 0 {
			g.idle = make(chan struct{})
		}
		g.pending++
		g.mu.Unlock()
	}
	return true
}

// Write implements io.Writer for mcp-go's responses. mcp-go writes one
// whole message per call.
func (g *StdioGate) Write(p []byte) (int, error) {
	h := readOut(p)
	out := g.outgoing(p, &h)
	if out == nil {
		return len(p), nil // a notification the client did not opt into
	}
	g.wmu.Lock()
	_, err := g.w.Write(out)
	g.wmu.Unlock()
	if h.isResponse() {
		g.done()
	}
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

func (g *StdioGate) done() {
	g.mu.Lock()
	if g.pending > 0 {
		g.pending--
		if g.pending == 0 {
			close(g.idle)
			g.idle = nil
		}
	}
	g.mu.Unlock()
}

// Pending returns the number of requests read and not yet answered.
func (g *StdioGate) Pending() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.pending
}

// WaitIdle blocks until no request is pending or Release is called.
func (g *StdioGate) WaitIdle() {
	g.mu.Lock()
	ch := g.idle
	g.mu.Unlock()
	if ch == nil {
		return
	}
	select {
	case <-ch:
	case <-g.stop:
	}
}

// Drain makes the gate refuse new requests: a request read from now on is
// answered with an error, a notification dropped.
func (g *StdioGate) Drain() { g.draining.Store(true) }

// Release stops every wait for pending requests, WaitIdle's and that of
// Read at the end of input. It may be called more than once.
func (g *StdioGate) Release() { g.stopOnce.Do(func() { close(g.stop) }) }

// EOF returns a channel closed when the input ends or fails: the gate then
// holds the end back from mcp-go until no request is pending or Release is
// called.
func (g *StdioGate) EOF() <-chan struct{} { return g.eof }

// idIn finds the "id" member near the start of a message too long to parse.
var idIn = regexp.MustCompile(`"id"\s*:\s*("(?:[^"\\]|\\.)*"|-?\d+)`)

// answerError answers the request whose first bytes are head, or answers
// with a null ID when its ID cannot be found.
func (g *StdioGate) answerError(head []byte, code int, msg string) {
	id := json.RawMessage("null")
	if m := idIn.FindSubmatch(head); m != nil {
		id = m[1]
	}
	g.writeError(id, code, msg)
}

func (g *StdioGate) writeError(id json.RawMessage, code int, msg string) {
	b, err := json.Marshal(map[string]any{
		"jsonrpc": "2.0",
		"id":      id,
		"error":   map[string]any{"code": code, "message": msg},
	})
	if err != nil {
		return
	}
	g.WriteLine(b)
}

// WriteLine writes b, one whole JSON-RPC message without its newline, to
// the client at once: for the gate's own answers, and for a message the
// server sends ahead of mcp-go's response. It never interleaves with a
// message mcp-go writes.
func (g *StdioGate) WriteLine(b []byte) {
	g.wmu.Lock()
	_, _ = g.w.Write(append(b, '\n'))
	g.wmu.Unlock()
}
