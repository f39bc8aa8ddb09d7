package redisstore

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mcpflow/mcpflow/engine/state"
)

// Defaults for Options.
const (
	// DefaultTimeout bounds each Redis call of a store method (a save
	// that times out gets as long again to learn its outcome).
	DefaultTimeout = 2 * time.Second
	// DefaultConnTimeout is rueidis' ConnWriteTimeout: a connection whose
	// replies or PINGs take longer is closed and its client-side cache
	// dropped. An idle connection is PINGed every ConnTimeout/2, so a
	// replica cut off from Redis serves cached sessions for at most about
	// 2*ConnTimeout (4 s by default); after that its reads fail, each
	// within Timeout.
	DefaultConnTimeout = 2 * time.Second
	// DefaultSessionTTL is how long a session's keys live after its last
	// save.
	DefaultSessionTTL = 30 * 24 * time.Hour
	// DefaultCacheTTL caps how long a client-side cached read is served,
	// even when no invalidation arrives.
	DefaultCacheTTL = 30 * time.Second
	// DefaultCacheBytes is rueidis' CacheSizeEachConn. Every key of the
	// store has one hash tag, so all cached reads go through one
	// connection: this is in effect the whole client-side cache.
	DefaultCacheBytes = 16 << 20
	// NoExpiry as Options.SessionTTL keeps sessions until they are
	// deleted.
	NoExpiry time.Duration = -1
)

// maxPrefixLen bounds Options.Prefix.
const maxPrefixLen = 64

// Options configures a Store. Addr is required; every other field has a
// working zero value.
type Options struct {
	// Addr is the server's host:port.
	Addr string
	// DB is the database number SELECTed on every connection.
	DB int
	// Username and Password authenticate with AUTH when set.
	Username, Password string
	// TLS connects with TLS (rediss:// URLs).
	TLS bool
	// Prefix goes in front of every key, so that several deployments can
	// share a database: letters, digits and "_-.:", at most 64 bytes. A
	// ":" is added when it does not end with one.
	Prefix string
	// Timeout bounds each Redis call; 0 selects DefaultTimeout.
	Timeout time.Duration
	// ConnTimeout is rueidis' ConnWriteTimeout; 0 selects
	// DefaultConnTimeout.
	ConnTimeout time.Duration
	// SessionTTL is how long a session lives after its last save; 0
	// selects DefaultSessionTTL and NoExpiry keeps sessions forever.
	SessionTTL time.Duration
	// CacheTTL caps how long a client-side cached read is trusted; 0
	// selects DefaultCacheTTL.
	CacheTTL time.Duration
	// CacheBytes is the client-side cache size of each connection; 0
	// selects DefaultCacheBytes.
	CacheBytes int
	// Logger receives the store's logs (reconnects, data loss); nil
	// discards them.
	Logger *slog.Logger
	// TLSConfig overrides the TLS settings when TLS is set.
	TLSConfig *tls.Config
}

// ErrInvalidURL is matched (errors.Is), as is state.ErrInvalidArgument,
// by every error ParseURL and Open return for bad settings.
var ErrInvalidURL = errors.New("redisstore: invalid Redis URL")

// ParseURL reads redis://[USER:PASSWORD@]HOST:PORT/DB?prefix=...: the
// scheme is redis or rediss (TLS), the port defaults to 6379 and the
// database to 0. Query parameters: prefix, timeout, conn_timeout,
// session_ttl (0 means never expire), cache_ttl (durations such as 2s or
// 720h) and cache_size (bytes, or with KiB/MiB). The error names the part
// of the URL at fault and never contains the password.
func ParseURL(raw string) (Options, error) {
	var o Options
	u, err := url.Parse(raw)
	if err != nil {
		return o, urlErr(redact(raw), "URL", "cannot be parsed; use redis://HOST:PORT/DB")
	}
	shown := u.Redacted()
	switch u.Scheme {
	case "redis":
	case "rediss":
		o.TLS = true
	default:
		return o, urlErr(shown, "scheme", fmt.Sprintf("must be redis or rediss, got %q", u.Scheme))
	}
	if u.Opaque != "" || u.Host == "" {
		return o, urlErr(shown, "host", "is missing; use redis://HOST:PORT/DB")
	}
	host, port := u.Hostname(), u.Port()
	if host == "" {
		return o, urlErr(shown, "host", "is empty")
	}
	if port == "" {
		if strings.HasSuffix(u.Host, ":") {
			return o, urlErr(shown, "port", "is empty")
		}
		port = "6379"
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return o, urlErr(shown, "port", fmt.Sprintf("must be 1 to 65535, got %q", port))
	}
	o.Addr = net.JoinHostPort(host, port)
	if u.User != nil {
		o.Username = u.User.Username()
		o.Password, _ = u.User.Password()
	}
	if db := strings.TrimPrefix(u.Path, "/"); db != "" {
		n, err := strconv.Atoi(db)
		if err != nil || n < 0 || n > 1<<20 {
			return o, urlErr(shown, "db", fmt.Sprintf("must be a database number such as 0, got %q", db))
		}
		o.DB = n
	}
	if u.Fragment != "" {
		return o, urlErr(shown, "fragment", "is not allowed")
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return o, urlErr(shown, "query", "cannot be parsed")
	}
	for key, vals := range q {
		if len(vals) != 1 {
			return o, urlErr(shown, key, "is given more than once")
		}
		v := vals[0]
		var perr error
		switch key {
		case "prefix":
			o.Prefix, perr = checkPrefix(v)
		case "timeout":
			o.Timeout, perr = positiveDuration(v)
		case "conn_timeout":
			o.ConnTimeout, perr = positiveDuration(v)
		case "cache_ttl":
			o.CacheTTL, perr = positiveDuration(v)
		case "session_ttl":
			o.SessionTTL, perr = positiveDuration(v)
			if v == "0" {
				o.SessionTTL, perr = NoExpiry, nil
			}
		case "cache_size":
			o.CacheBytes, perr = parseSize(v)
		default:
			return o, urlErr(shown, key, "is not a known parameter; use prefix, timeout, conn_timeout, session_ttl, cache_ttl or cache_size")
		}
		if perr != nil {
			return o, urlErr(shown, key, perr.Error())
		}
	}
	return o, nil
}

func urlErr(shown, field, msg string) error {
	return &settingsError{msg: fmt.Sprintf("%s: %s: %s %s", ErrInvalidURL, shown, field, msg)}
}

// settingsError is a bad URL or Options value. It matches both
// ErrInvalidURL and state.ErrInvalidArgument with errors.Is, and its
// text reads as one sentence for a person at a shell.
type settingsError struct{ msg string }

func (e *settingsError) Error() string { return e.msg }

// Is reports whether target is ErrInvalidURL or state.ErrInvalidArgument.
func (e *settingsError) Is(target error) bool {
	return target == ErrInvalidURL || target == state.ErrInvalidArgument
}

func optErr(format string, a ...any) error {
	return &settingsError{msg: fmt.Sprintf("%s: ", ErrInvalidURL) + fmt.Sprintf(format, a...)}
}

// redact hides what looks like a password in a URL that did not parse.
func redact(raw string) string {
	if at := strings.LastIndex(raw, "@"); at >= 0 {
		if i := strings.Index(raw, "://"); i >= 0 && i < at {
			return raw[:i+3] + "xxxxx" + raw[at:]
		}
		return "xxxxx" + raw[at:]
	}
	return raw
}

// checkPrefix validates a key prefix and gives it a trailing ":".
func checkPrefix(p string) (string, error) {
	if p == "" {
		return "", nil
	}
	if len(p) > maxPrefixLen {
		return "", fmt.Errorf("is %d bytes; at most %d allowed", len(p), maxPrefixLen)
	}
	for _, r := range p {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_-.:", r)
		if !ok {
			return "", fmt.Errorf("may hold only letters, digits and _-.: (braces would change the hash tag), got %q", p)
		}
	}
	if !strings.HasSuffix(p, ":") {
		p += ":"
	}
	return p, nil
}

func positiveDuration(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("must be a positive duration such as 2s or 720h, got %q", v)
	}
	return d, nil
}

func parseSize(v string) (int, error) {
	s := strings.TrimSpace(v)
	mult := 1
	for _, u := range []struct {
		suffix string
		mult   int
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"B", 1}} {
		if cut, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = cut, u.mult
			break
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 || n > (1<<40)/mult {
		return 0, fmt.Errorf("must be a positive size such as 8MiB or 1048576, got %q", v)
	}
	return n * mult, nil
}

// withDefaults checks o and fills its zero fields.
func (o Options) withDefaults() (Options, error) {
	if o.Addr == "" {
		return o, optErr("Options.Addr is empty; set it to HOST:PORT")
	}
	p, err := checkPrefix(o.Prefix)
	if err != nil {
		return o, optErr("Options.Prefix %v", err)
	}
	o.Prefix = p
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{{"Timeout", &o.Timeout, DefaultTimeout}, {"ConnTimeout", &o.ConnTimeout, DefaultConnTimeout}, {"CacheTTL", &o.CacheTTL, DefaultCacheTTL}} {
		switch {
		case *d.v == 0:
			*d.v = d.def
		case *d.v < 0:
			return o, optErr("Options.%s must be positive, got %v", d.name, *d.v)
		}
	}
	switch {
	case o.SessionTTL == 0:
		o.SessionTTL = DefaultSessionTTL
	case o.SessionTTL < 0:
		o.SessionTTL = NoExpiry
	case o.SessionTTL < time.Millisecond:
		return o, optErr("Options.SessionTTL must be at least 1ms, got %v", o.SessionTTL)
	}
	switch {
	case o.CacheBytes == 0:
		o.CacheBytes = DefaultCacheBytes
	case o.CacheBytes < 0:
		return o, optErr("Options.CacheBytes must be positive, got %d", o.CacheBytes)
	}
	if o.DB < 0 {
		return o, optErr("Options.DB must be 0 or more, got %d", o.DB)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o, nil
}

// String describes o for logs and get_server_info, without the password:
// redis://HOST:PORT/DB?prefix=...
func (o Options) String() string {
	u := url.URL{Scheme: "redis", Host: o.Addr, Path: "/" + strconv.Itoa(o.DB)}
	if o.TLS {
		u.Scheme = "rediss"
	}
	if o.Username != "" || o.Password != "" {
		if o.Password != "" {
			u.User = url.UserPassword(o.Username, "xxxxx")
		} else {
			u.User = url.User(o.Username)
		}
	}
	if o.Prefix != "" {
		u.RawQuery = "prefix=" + o.Prefix // only characters a query may hold
	}
	return u.String()
}

// IsURL reports whether s is meant as a Redis URL (it starts with
// redis:// or rediss://), as opposed to a folder path.
func IsURL(s string) bool {
	return strings.HasPrefix(s, "redis://") || strings.HasPrefix(s, "rediss://")
}
