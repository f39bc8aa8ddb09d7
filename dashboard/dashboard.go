package dashboard

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mcpflow/mcpflow/engine"
	"github.com/mcpflow/mcpflow/metrics"
	"github.com/mcpflow/mcpflow/ragcache"
)

// DefaultPoll is how often an open /events stream checks the store for
// changes saved by other processes (the command line, other replicas).
const DefaultPoll = 2 * time.Second

// MaxStreams bounds the /events streams open at once.
const MaxStreams = 64

// cookieName is the login cookie.
const cookieName = "mcpflow_dashboard"

//go:embed assets
var assets embed.FS

// Config configures a Dashboard.
type Config struct {
	// Engine holds the sessions. Required.
	Engine *engine.Engine
	// Index answers the standards search; nil hides it.
	Index *ragcache.Index
	// Metrics returns the caches' counters by name for the summary; nil
	// hides it.
	Metrics func() map[string]metrics.Snapshot
	// Token, when set, is required: as a bearer token, or through the
	// login form's cookie.
	Token string
	// ApproveCommand is the command line that approves from a shell,
	// shown beside the forms (see server.Config.ApproveCommand).
	ApproveCommand string
	// Logger receives decisions and errors; nil discards.
	Logger *slog.Logger
	// Poll is DefaultPoll when 0.
	Poll time.Duration
}

// Dashboard is the http.Handler of the dashboard. It is safe for
// concurrent use; create it with New and end its event streams with
// Close.
type Dashboard struct {
	cfg    Config
	tmpl   *template.Template
	mux    *http.ServeMux
	secret [32]byte
	// cookie is the login cookie's value, derived from the token so that
	// the token itself never sits in the browser; nil without a token.
	cookie []byte
	// tokenSum is the token's SHA-256, nil without a token.
	tokenSum []byte
	streams  atomic.Int64
	// done is closed by Close: every /events stream ends.
	done      chan struct{}
	closeOnce sync.Once
}

// New returns the dashboard for cfg.
func New(cfg Config) (*Dashboard, error) {
	if cfg.Engine == nil {
		return nil, errors.New("dashboard: Config.Engine is nil")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Poll <= 0 {
		cfg.Poll = DefaultPoll
	}
	t, err := template.New("").Funcs(funcs).ParseFS(assets, "assets/*.html")
	if err != nil {
		return nil, fmt.Errorf("dashboard: templates: %w", err)
	}
	d := &Dashboard{cfg: cfg, tmpl: t, mux: http.NewServeMux(), done: make(chan struct{})}
	if _, err := rand.Read(d.secret[:]); err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	if cfg.Token != "" {
		sum := sha256.Sum256([]byte(cfg.Token))
		d.tokenSum = sum[:]
		c := sha256.Sum256([]byte("mcpflow dashboard login\x00" + cfg.Token))
		d.cookie = []byte(hex.EncodeToString(c[:]))
	}
	d.mux.HandleFunc("GET /{$}", d.auth(d.index))
	d.mux.HandleFunc("GET /session/{id}", d.auth(d.session))
	d.mux.HandleFunc("POST /decide", d.auth(d.decide))
	d.mux.HandleFunc("GET /events", d.auth(d.events))
	d.mux.HandleFunc("GET /login", d.loginForm)
	d.mux.HandleFunc("POST /login", d.login)
	d.mux.HandleFunc("POST /logout", d.logout)
	d.mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(mustSub("assets/static"))))
	return d, nil
}

// Close ends the open /events streams; later ones end at once.
func (d *Dashboard) Close() {
	d.closeOnce.Do(func() { close(d.done) })
}

// ServeHTTP serves the dashboard's pages; any other path is a 404 that
// names the MCP endpoint.
func (d *Dashboard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	if _, pattern := d.mux.Handler(r); pattern == "" {
		http.Error(w, fmt.Sprintf("404 not found: %s; the dashboard is at /, the MCP endpoint at /mcp", r.URL.Path), http.StatusNotFound)
		return
	}
	d.mux.ServeHTTP(w, r)
}

// authorized reports whether r carries the token (bearer) or the login
// cookie.
func (d *Dashboard) authorized(r *http.Request) bool {
	if d.tokenSum == nil {
		return true
	}
	if c, err := r.Cookie(cookieName); err == nil && subtle.ConstantTimeCompare([]byte(c.Value), d.cookie) == 1 {
		return true
	}
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if ok && strings.EqualFold(scheme, "Bearer") {
		sum := sha256.Sum256([]byte(strings.TrimSpace(tok)))
		return subtle.ConstantTimeCompare(sum[:], d.tokenSum) == 1
	}
	return false
}

// auth sends a request without the token to the login form (a page) or
// answers 401 (events, decisions).
func (d *Dashboard) auth(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if d.authorized(r) {
			h(w, r)
			return
		}
		if r.Method == http.MethodGet && r.URL.Path != "/events" {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		http.Error(w, "401 unauthorized: log in at /login with the server's token", http.StatusUnauthorized)
	}
}

// csrfToken is the token every form carries.
func (d *Dashboard) csrfToken() string {
	m := hmac.New(sha256.New, d.secret[:])
	m.Write([]byte("csrf"))
	return hex.EncodeToString(m.Sum(nil))
}

// checkPost refuses a POST without the CSRF token, or sent from another
// site (Sec-Fetch-Site; the server's guard has checked Origin already).
func (d *Dashboard) checkPost(w http.ResponseWriter, r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		http.Error(w, "403 forbidden: cross-site request", http.StatusForbidden)
		return false
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, "400 bad request: "+err.Error(), http.StatusBadRequest)
		return false
	}
	if subtle.ConstantTimeCompare([]byte(r.PostForm.Get("csrf")), []byte(d.csrfToken())) != 1 {
		http.Error(w, "403 forbidden: missing or stale form token; reload the page and try again", http.StatusForbidden)
		return false
	}
	return true
}

func (d *Dashboard) loginForm(w http.ResponseWriter, r *http.Request) {
	d.render(w, r, http.StatusOK, "login", &page{Title: "Log in"})
}

func (d *Dashboard) login(w http.ResponseWriter, r *http.Request) {
	if !d.checkPost(w, r) {
		return
	}
	if d.tokenSum == nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	sum := sha256.Sum256([]byte(r.PostForm.Get("token")))
	if subtle.ConstantTimeCompare(sum[:], d.tokenSum) != 1 {
		d.render(w, r, http.StatusUnauthorized, "login", &page{Title: "Log in", Error: "wrong token"})
		return
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: string(d.cookie), Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (d *Dashboard) logout(w http.ResponseWriter, r *http.Request) {
	if !d.checkPost(w, r) {
		return
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// render executes template name with p.
func (d *Dashboard) render(w http.ResponseWriter, r *http.Request, status int, name string, p *page) {
	p.CSRF = d.csrfToken()
	p.Auth = d.tokenSum != nil && d.authorized(r)
	var b strings.Builder
	if err := d.tmpl.ExecuteTemplate(&b, name, p); err != nil {
		d.cfg.Logger.Error("dashboard: render", "template", name, "err", err)
		http.Error(w, "500 internal error: the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(b.String()))
}

// ctxDone is a context that ends with r or with Close.
func (d *Dashboard) ctxDone(r *http.Request) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(r.Context())
	go func() {
		select {
		case <-d.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}
