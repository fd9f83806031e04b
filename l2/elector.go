package l2

import (
	"slices"
	"sync"
)

// An Elector decides which node answers for a service.
//
// Leads reports whether this node should answer for the service with the
// given key. Changes returns a channel that is closed when leadership may
// have moved; after it fires, callers call Changes again for the next
// change, so one Elector can serve any number of announcers. A nil channel
// (never ready) means leadership never changes.
//
// Leads must be fast and must not call back into the announcer: the
// announcer calls it with its lock held, once per service on every change.
type Elector interface {
	Leads(key string) bool
	Changes() <-chan struct{}
}

// A ReadyElector is an Elector that also wants to know whether this node
// can answer at all. The announcer calls SetReady(false) when none of its
// interfaces is up with a carrier and SetReady(true) when one is again (and
// once at start), so that the elector can stop electing this node, on this
// node and on the others. SetReady must not block.
type ReadyElector interface {
	Elector
	SetReady(ready bool)
}

// A Refresher is an Elector that can ask leaders to announce again. When
// Changes fires and Refresh returns a new value, the announcer sends its
// gratuitous frames again for every address it answers for, even those it
// kept leading. An elector over a cluster bumps it when a node joins, so
// that after a network partition heals the one remaining leader corrects
// neighbours that followed the other side's leader.
type Refresher interface {
	Elector
	Refresh() uint64
}

// Always returns the Elector of a single node: it leads every service and
// never changes.
func Always() Elector { return always{} }

type always struct{}

func (always) Leads(string) bool        { return true }
func (always) Changes() <-chan struct{} { return nil }

// A Rendezvous is an Elector that picks, for every service, the live member
// with the highest rendezvous (highest random weight) hash of member name and
// service key. Every node that knows the same member list computes the same
// leader for each service with no coordination, as MetalLB does, and when a
// member leaves only the services it led move.
//
// The weight of member m for key k is FNV-1a 64 over m, a zero byte and k,
// passed through the 64-bit finaliser of MurmurHash3; ties, which need a
// hash collision, go to the smaller name. The function is part of the
// contract: nodes running different lbkit versions agree.
//
// A service may be restricted to candidates (SetCandidates): its leader is
// then the rendezvous winner among the live members that are candidates,
// and nobody leads it when none is. Every node must be given the same
// candidates to agree.
//
// The zero value is not usable; use NewRendezvous. A Rendezvous is safe for
// concurrent use.
type Rendezvous struct {
	self string

	mu         sync.Mutex
	members    []string            // sorted, unique
	dead       map[string]bool     // members marked dead
	candidates map[string][]string // by service key; sorted, unique
	changed    chan struct{}
}

// NewRendezvous returns a Rendezvous elector for the node named self over
// members. Self leads only when it is a live member: include it in members.
func NewRendezvous(self string, members ...string) *Rendezvous {
	r := &Rendezvous{self: self, dead: map[string]bool{}, candidates: map[string][]string{},
		changed: make(chan struct{})}
	r.members = normalize(members)
	return r
}

// SetCandidates restricts the election for key to candidates, replacing
// any earlier set: the leader is the live member among them with the
// highest weight, and with no live candidate (or none at all) nobody leads
// key. Use it for services that only some nodes may answer, such as
// Kubernetes services with externalTrafficPolicy Local.
func (r *Rendezvous) SetCandidates(key string, candidates ...string) {
	c := normalize(candidates)
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.candidates[key]; ok && slices.Equal(old, c) {
		return
	}
	r.candidates[key] = c
	r.notifyLocked()
}

// ClearCandidates lets every member lead key again.
func (r *Rendezvous) ClearCandidates(key string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.candidates[key]; !ok {
		return
	}
	delete(r.candidates, key)
	r.notifyLocked()
}

// Candidates returns the candidates set for key, sorted, and false when
// key has none set (every member is a candidate).
func (r *Rendezvous) Candidates(key string) ([]string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.candidates[key]
	return slices.Clone(c), ok
}

func normalize(members []string) []string {
	m := slices.Clone(members)
	slices.Sort(m)
	return slices.Compact(m)
}

// Self returns the name of this node.
func (r *Rendezvous) Self() string { return r.self }

// SetMembers replaces the member list. Members marked dead stay dead while
// they remain members; members that leave the list forget their mark.
func (r *Rendezvous) SetMembers(members ...string) {
	m := normalize(members)
	r.mu.Lock()
	defer r.mu.Unlock()
	if slices.Equal(m, r.members) {
		return
	}
	r.members = m
	for d := range r.dead {
		if _, ok := slices.BinarySearch(m, d); !ok {
			delete(r.dead, d)
		}
	}
	r.notifyLocked()
}

// Members returns the member list, sorted.
func (r *Rendezvous) Members() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.members)
}

// MarkDead excludes member from every election until MarkAlive. Marking a
// name that is not a member has no effect.
func (r *Rendezvous) MarkDead(member string) { r.mark(member, true) }

// MarkAlive undoes MarkDead.
func (r *Rendezvous) MarkAlive(member string) { r.mark(member, false) }

func (r *Rendezvous) mark(member string, dead bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := slices.BinarySearch(r.members, member); !ok || r.dead[member] == dead {
		return
	}
	if dead {
		r.dead[member] = true
	} else {
		delete(r.dead, member)
	}
	r.notifyLocked()
}

func (r *Rendezvous) notifyLocked() {
	close(r.changed)
	r.changed = make(chan struct{})
}

// Alive reports whether member is a member not marked dead.
func (r *Rendezvous) Alive(member string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := slices.BinarySearch(r.members, member)
	return ok && !r.dead[member]
}

// Leader returns the live member that leads key, and false when no member
// is alive.
func (r *Rendezvous) Leader(key string) (string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.leaderLocked(key)
}

func (r *Rendezvous) leaderLocked(key string) (string, bool) {
	var best string
	var bestW uint64
	found := false
	cands, restricted := r.candidates[key]
	for _, m := range r.members { // sorted: on equal weight the first wins
		if r.dead[m] {
			continue
		}
		if _, ok := slices.BinarySearch(cands, m); restricted && !ok {
			continue
		}
		if w := weight(m, key); !found || w > bestW {
			best, bestW, found = m, w, true
		}
	}
	return best, found
}

// Leads reports whether this node leads key.
func (r *Rendezvous) Leads(key string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	l, ok := r.leaderLocked(key)
	return ok && l == r.self
}

// Changes returns a channel closed at the next change of members, marks or
// candidates.
func (r *Rendezvous) Changes() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.changed
}

// weight is the rendezvous weight of member for key.
func weight(member, key string) uint64 {
	const prime = 1099511628211
	h := uint64(14695981039346656037) // FNV-1a 64 offset basis
	for i := 0; i < len(member); i++ {
		h = (h ^ uint64(member[i])) * prime
	}
	h *= prime // the zero separator byte: h ^ 0 == h
	for i := 0; i < len(key); i++ {
		h = (h ^ uint64(key[i])) * prime
	}
	return fmix64(h)
}

// fmix64 is MurmurHash3's 64-bit finaliser: it spreads FNV's weak low bits.
func fmix64(k uint64) uint64 {
	k ^= k >> 33
	k *= 0xff51afd7ed558ccd
	k ^= k >> 33
	k *= 0xc4ceb9fe1a85ec53
	k ^= k >> 33
	return k
}
