package devserver

import (
	"context"
	"io"
	"net"
	"sync"
	"sync/atomic"
)

// Cutting connections that are already sending.
//
// cut= and armed faults act on requests still to come. A test that wants to
// drop a transfer at a moment of its choosing (a chaos test, a person
// pulling the cable) calls CutNow, which closes the connections serving a
// file right now. Closing the socket stops even a sendfile(2) transfer,
// so the fast path stays fast. It needs the connection of each request:
// the http.Server must set ConnContext to Server.ConnContext (requests of
// Server.Transport have theirs).

type connKey struct{}

// ConnContext stores each connection in its requests' context; set it as
// http.Server.ConnContext to make CutNow work.
func (s *Server) ConnContext(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, c)
}

// liveConn is a file response in progress.
type liveConn struct {
	conn io.Closer // a net.Conn, or an exchange of Server.Transport
	cut  atomic.Bool
}

type liveSet struct {
	mu    sync.Mutex
	files map[string]map[*liveConn]struct{}
	added chan struct{} // closed and replaced each time a response starts
}

// track registers the response to r for file name and returns a func that
// unregisters it and reports whether CutNow cut it.
func (s *Server) track(r interface{ Context() context.Context }, name string) func() bool {
	c, ok := r.Context().Value(connKey{}).(io.Closer)
	if !ok {
		return func() bool { return false }
	}
	lc := &liveConn{conn: c}
	s.live.mu.Lock()
	if s.live.files == nil {
		s.live.files = map[string]map[*liveConn]struct{}{}
	}
	if s.live.files[name] == nil {
		s.live.files[name] = map[*liveConn]struct{}{}
	}
	s.live.files[name][lc] = struct{}{}
	if s.live.added != nil {
		close(s.live.added)
		s.live.added = nil
	}
	s.live.mu.Unlock()
	return func() bool {
		s.live.mu.Lock()
		delete(s.live.files[name], lc)
		s.live.mu.Unlock()
		return lc.cut.Load()
	}
}

// CutNow closes every connection that is sending file name at this moment
// and returns how many it closed. Their log entries say Cut.
func (s *Server) CutNow(name string) int {
	s.live.mu.Lock()
	defer s.live.mu.Unlock()
	return s.cutLocked(name)
}

// CutNext is CutNow, except that when nothing is sending file name it
// waits for the next response of it to start (between a failure and its
// retry, no request is live) and cuts that, or returns ctx's error.
func (s *Server) CutNext(ctx context.Context, name string) (int, error) {
	for {
		s.live.mu.Lock()
		if n := s.cutLocked(name); n > 0 {
			s.live.mu.Unlock()
			return n, nil
		}
		if s.live.added == nil {
			s.live.added = make(chan struct{})
		}
		added := s.live.added
		s.live.mu.Unlock()
		select {
		case <-added:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

// cutLocked closes the connections sending name; s.live.mu is held.
func (s *Server) cutLocked(name string) int {
	n := 0
	for lc := range s.live.files[name] {
		if lc.cut.CompareAndSwap(false, true) {
			lc.conn.Close()
			n++
		}
	}
	return n
}
