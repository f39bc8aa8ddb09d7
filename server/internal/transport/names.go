package transport

// Names says how the operator sets each limit and list that a refusal sent
// to a client names, such as "--max-body": with MaxBodyBytes named, a body
// over the limit is refused with "... the limit is 1048576 bytes
// (--max-body)". An empty name is described in plain words instead.
type Names struct {
	MaxBodyBytes, MaxSessions, MaxStreams string
	AllowedHosts, AllowedOrigins, Token   string
}

// paren returns " (name)", or "" when name is empty.
func paren(name string) string {
	if name == "" {
		return ""
	}
	return " (" + name + ")"
}

// clip cuts s to n characters for an error message; print it with %q.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
