package bgp

import (
	"github.com/osrg/gobgp/v4/pkg/apiutil"
)

// The speaker hands route changes to GoBGP from one goroutine, the
// flusher, in the order they were made. Announce and Withdraw queue their
// changes and return; the flusher passes everything queued since its last
// call in one AddPath (or DeletePath), so a controller announcing one
// service per call still gives GoBGP many routes at once, which its senders
// pack into few UPDATE messages. GoBGP refuses none of the paths the
// speaker builds; should it fail (it is stopping), the flusher logs it.

type pathOp struct {
	withdraw bool
	path     *apiutil.Path
	reached  chan struct{} // a barrier (no path): closed when the flusher gets to it
}

type flusher struct {
	wake chan struct{} // capacity 1
	stop chan struct{} // closed to drain the queue and end
	done chan struct{} // closed when the flusher has ended
}

func newFlusher() *flusher {
	return &flusher{wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
}

// enqueue queues ops; s.mu is held.
func (s *Speaker) enqueue(ops ...pathOp) {
	if len(ops) == 0 {
		return
	}
	s.qMu.Lock()
	s.queue = append(s.queue, ops...)
	s.qMu.Unlock()
	select {
	case s.flush.wake <- struct{}{}:
	default:
	}
}

func (s *Speaker) runFlusher() {
	defer close(s.flush.done)
	for {
		select {
		case <-s.flush.wake:
			s.flushQueue()
		case <-s.flush.stop:
			s.flushQueue()
			return
		}
	}
}

// flushQueue hands the queued changes to GoBGP: each run of announcements
// in one AddPath, each run of withdrawals in one DeletePath.
func (s *Speaker) flushQueue() {
	s.qMu.Lock()
	ops := s.queue
	s.queue = nil
	s.qMu.Unlock()
	for len(ops) > 0 {
		if ops[0].reached != nil {
			close(ops[0].reached)
			ops = ops[1:]
			continue
		}
		n := 1
		for n < len(ops) && ops[n].withdraw == ops[0].withdraw && ops[n].reached == nil {
			n++
		}
		paths := make([]*apiutil.Path, n)
		for i, op := range ops[:n] {
			paths[i] = op.path
		}
		var err error
		if ops[0].withdraw {
			err = s.srv.DeletePath(apiutil.DeletePathRequest{Paths: paths})
		} else {
			_, err = s.srv.AddPath(apiutil.AddPathRequest{Paths: paths})
		}
		if err != nil {
			s.log.Warn("handing routes to GoBGP", "routes", n, "withdraw", ops[0].withdraw, "err", err)
		}
		ops = ops[n:]
	}
}

// flushed returns when GoBGP has every change queued before the call.
func (s *Speaker) flushed() {
	reached := make(chan struct{})
	s.enqueue(pathOp{reached: reached})
	select {
	case <-reached:
	case <-s.flush.done:
	}
}

// stopFlusher hands the queued changes to GoBGP and ends the flusher.
func (s *Speaker) stopFlusher() {
	close(s.flush.stop)
	<-s.flush.done
}
