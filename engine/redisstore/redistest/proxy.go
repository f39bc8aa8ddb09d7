package redistest

import (
	"bytes"
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// Proxy is a TCP proxy on 127.0.0.1 in front of a server, for fault tests:
// Cut turns it into a black hole (a network partition), LoseNextReply and
// LoseNextRequest drop one EVAL/EVALSHA exchange as a broken connection
// would.
//
// A Proxy is safe for concurrent use by multiple goroutines. Close (run at
// the test's cleanup) closes every connection and waits for every
// goroutine of the proxy to end.
type Proxy struct {
	// Addr is the proxy's host:port; point the client here.
	Addr   string
	target string
	ln     net.Listener

	cut         atomic.Bool
	loseReply   atomic.Bool
	loseRequest atomic.Bool
	// Lost counts exchanges dropped by LoseNextReply or LoseNextRequest.
	Lost atomic.Int64

	mu     sync.Mutex
	links  map[*link]struct{} // guarded by mu
	closed bool               // guarded by mu
	wg     sync.WaitGroup
}

// link is one client connection and, unless it was accepted during a
// cut, its upstream connection.
type link struct {
	client, server net.Conn // server is nil for a link accepted during a cut
	// dropReply is set by the client-to-server copier when it forwarded
	// the request whose reply must be lost.
	dropReply atomic.Bool
	once      sync.Once
}

func (l *link) close() {
	l.once.Do(func() {
		_ = l.client.Close()
		if l.server != nil {
			_ = l.server.Close()
		}
	})
}

// NewProxy starts a proxy to target and closes it at tb's cleanup.
func NewProxy(tb testing.TB, target string) *Proxy {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("redistest: proxy: %v", err)
	}
	p := &Proxy{Addr: ln.Addr().String(), target: target, ln: ln, links: map[*link]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	tb.Cleanup(p.Close)
	return p
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		l := &link{client: c}
		if !p.cut.Load() {
			s, err := net.Dial("tcp", p.target)
			if err != nil {
				_ = c.Close()
				continue
			}
			l.server = s
		}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			l.close()
			return
		}
		p.links[l] = struct{}{}
		p.wg.Add(2)
		p.mu.Unlock()
		go p.pipe(l, true)
		go p.pipe(l, false)
	}
}

// pipe copies one direction of l until either side closes. During a cut
// every byte read is dropped; a link without upstream drops everything.
func (p *Proxy) pipe(l *link, up bool) {
	defer p.wg.Done()
	src, dst := l.client, l.server
	if !up {
		src, dst = l.server, l.client
	}
	if src == nil {
		// No upstream (a link accepted during a cut): the other copier
		// reads the client and drops everything until Heal or Close.
		return
	}
	defer func() {
		l.close()
		p.mu.Lock()
		delete(p.links, l)
		p.mu.Unlock()
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !p.cut.Load() && dst != nil {
			chunk := buf[:n]
			switch {
			case up && bytes.Contains(chunk, []byte("EVAL")) && p.loseRequest.CompareAndSwap(true, false):
				p.Lost.Add(1)
				return // the request never reaches the server
			case up && bytes.Contains(chunk, []byte("EVAL")) && p.loseReply.CompareAndSwap(true, false):
				l.dropReply.Store(true)
			case !up && l.dropReply.Load():
				p.Lost.Add(1)
				return // the server ran it; the client never hears
			}
			if _, werr := dst.Write(chunk); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// Cut makes the proxy a black hole: bytes in both directions are dropped
// and new connections are accepted but never reach the server, as in a
// network partition. Connections stay open until Heal.
func (p *Proxy) Cut() { p.cut.Store(true) }

// Heal ends a cut. The connections that lived through it have lost bytes,
// so they are closed; clients reconnect.
func (p *Proxy) Heal() {
	p.mu.Lock()
	links := make([]*link, 0, len(p.links))
	for l := range p.links {
		links = append(links, l)
	}
	p.mu.Unlock()
	p.cut.Store(false)
	for _, l := range links {
		l.close()
	}
}

// LoseNextReply arms the proxy: the next request containing EVAL (EVAL or
// EVALSHA) reaches the server, but its reply is dropped and the
// connection closed, so the client cannot know whether the script ran.
func (p *Proxy) LoseNextReply() { p.loseReply.Store(true) }

// LoseNextRequest arms the proxy: the next request containing EVAL is
// dropped before it reaches the server and the connection is closed.
func (p *Proxy) LoseNextRequest() { p.loseRequest.Store(true) }

// Close stops the proxy, closes every connection and waits for its
// goroutines. It is safe to call more than once.
func (p *Proxy) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	links := make([]*link, 0, len(p.links))
	for l := range p.links {
		links = append(links, l)
	}
	p.mu.Unlock()
	_ = p.ln.Close()
	for _, l := range links {
		l.close()
	}
	p.wg.Wait()
}
