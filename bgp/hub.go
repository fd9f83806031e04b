package bgp

import (
	"context"
	"sync"
)

// hub fans peer events out to Watch subscribers, each with an unbounded
// queue and a goroutine that lives as long as its context and the hub.
type hub struct {
	mu     sync.Mutex
	subs   map[*sub]struct{}
	closed bool
}

type sub struct {
	mu    sync.Mutex
	queue []PeerEvent
	wake  chan struct{} // capacity 1
	done  chan struct{} // closed by hub.close
}

func newHub() *hub { return &hub{subs: make(map[*sub]struct{})} }

func (h *hub) subscribe(ctx context.Context) <-chan PeerEvent {
	out := make(chan PeerEvent)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		close(out)
		return out
	}
	s := &sub{wake: make(chan struct{}, 1), done: make(chan struct{})}
	h.subs[s] = struct{}{}
	go func() {
		defer close(out)
		defer h.remove(s)
		s.run(ctx, out)
	}()
	return out
}

// run feeds out until ctx ends, or until the hub has closed and the queue
// is empty: events queued before the close are delivered.
func (s *sub) run(ctx context.Context, out chan<- PeerEvent) {
	done := s.done
	for {
		s.mu.Lock()
		if len(s.queue) == 0 {
			s.mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-done:
				return
			case <-s.wake:
				continue
			}
		}
		ev := s.queue[0]
		s.queue = s.queue[1:]
		s.mu.Unlock()
		select {
		case out <- ev:
		case <-ctx.Done():
			return
		}
	}
}

func (h *hub) remove(s *sub) {
	h.mu.Lock()
	delete(h.subs, s)
	h.mu.Unlock()
}

func (h *hub) publish(ev PeerEvent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		s.mu.Lock()
		s.queue = append(s.queue, ev)
		s.mu.Unlock()
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// close ends every subscription; later subscriptions get a closed channel.
func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.closed = true
	for s := range h.subs {
		close(s.done)
	}
}
