package engine

// Changed returns a channel that is closed at the next change this Engine
// saves to a session (a start, a complete_phase, a decision, a delete).
// Take a new channel after each close. Changes saved by other processes
// (the command line, other replicas) are not signalled: a watcher that
// must see them also polls ListSessions.
//
// Safe for concurrent use; a change saved before Changed was called never
// closes the channel it returns.
func (e *Engine) Changed() <-chan struct{} {
	return *e.changed.Load()
}

// notifyChanged closes the current Changed channel and installs a new
// one.
func (e *Engine) notifyChanged() {
	ch := make(chan struct{})
	old := e.changed.Swap(&ch)
	close(*old)
}
