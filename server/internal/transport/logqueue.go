package transport

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
)

// QueueLog queues msg, a notifications/message, to be written on the
// response to the HTTP request of ctx before whatever that response writes
// next, and reports true; it reports false when ctx is not of a protocol
// 2026-07-28 request over HTTP that asked for log messages. The caller
// makes the response an event stream, which can carry the message before
// the result. It may be called from any goroutine.
func QueueLog(ctx context.Context, msg []byte) bool {
	q, ok := ctx.Value(logQueueKey{}).(*logQueue)
	if ok {
		q.add(msg)
	}
	return ok
}

// logQueue holds the log messages of one HTTP request of protocol
// 2026-07-28 until its response writes them. It is safe for concurrent
// use; msgs is guarded by mu.
type logQueue struct {
	mu   sync.Mutex
	msgs [][]byte
}

type logQueueKey struct{}

func (q *logQueue) add(msg []byte) {
	q.mu.Lock()
	q.msgs = append(q.msgs, msg)
	q.mu.Unlock()
}

func (q *logQueue) take() [][]byte {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.msgs
	q.msgs = nil
	return out
}

// withLogQueue serves r with a logQueue in its context, whose messages
// the response writes as events before whatever it writes next: see
// QueueLog.
func withLogQueue(w http.ResponseWriter, r *http.Request, next http.Handler) {
	q := &logQueue{}
	next.ServeHTTP(&logWriter{ResponseWriter: w, q: q}, r.WithContext(context.WithValue(r.Context(), logQueueKey{}, q)))
}

// logWriter writes the queued log messages of its request, as server-sent
// events, before each write of an event stream. mcp-go writes each event
// of a response in one Write, under its own lock, so the messages never
// split an event.
type logWriter struct {
	http.ResponseWriter
	q *logQueue
}

// Write writes the queued messages, then p.
func (lw *logWriter) Write(p []byte) (int, error) {
	if msgs := lw.q.take(); len(msgs) > 0 && strings.HasPrefix(lw.Header().Get("Content-Type"), "text/event-stream") {
		for _, m := range msgs {
			if _, err := fmt.Fprintf(lw.ResponseWriter, "event: message\ndata: %s\n\n", m); err != nil {
				return 0, err
			}
		}
	}
	return lw.ResponseWriter.Write(p)
}

// Flush flushes the wrapped writer.
func (lw *logWriter) Flush() { _ = http.NewResponseController(lw.ResponseWriter).Flush() }

// Unwrap returns the wrapped ResponseWriter, for http.ResponseController.
func (lw *logWriter) Unwrap() http.ResponseWriter { return lw.ResponseWriter }
