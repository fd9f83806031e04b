package bfd

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// ErrInvalidPacket reports a packet that RFC 5880 section 6.8.6 says to
// discard.
var ErrInvalidPacket = errors.New("bfd: invalid packet")

// A State is a BFD session state (RFC 5880 section 4.1).
type State uint8

// The session states, numbered as on the wire.
const (
	AdminDown State = iota
	Down
	Init
	Up
)

var stateNames = [...]string{"admindown", "down", "init", "up"}

// String returns the state's lower-case name, such as "up".
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// A Diag is the reason for the last change to Down (RFC 5880 section 4.1).
type Diag uint8

// The diagnostics this package sets or reacts to.
const (
	DiagNone          Diag = 0
	DiagTimeExpired   Diag = 1 // no packet within the detection time
	DiagNeighborDown  Diag = 3 // the neighbor reported Down or AdminDown
	DiagAdminDown     Diag = 7
	headerLen              = 24
	version                = 1
	maxDiag                = 31
	flagPoll               = 0x20
	flagFinal              = 0x10
	flagCPI                = 0x08
	flagAuth               = 0x04
	flagDemand             = 0x02
	flagMultipoint         = 0x01
	microsPerDuration      = int64(time.Microsecond)
)

// A Packet is a BFD control packet without authentication.
type Packet struct {
	Diag          Diag
	State         State
	Poll, Final   bool
	CPI, Demand   bool
	DetectMult    uint8
	MyDiscr       uint32
	YourDiscr     uint32
	DesiredMinTx  time.Duration
	RequiredMinRx time.Duration
	// RequiredMinEchoRx is sent as 0 (no echo function) and ignored.
	RequiredMinEchoRx time.Duration
}

// Marshal returns the packet's 24-byte wire form. Durations are sent in
// whole microseconds, saturating at the field's 32 bits.
func (p Packet) Marshal() []byte {
	b := make([]byte, headerLen)
	b[0] = version<<5 | byte(p.Diag)&maxDiag
	b[1] = byte(p.State) << 6
	for _, f := range []struct {
		on  bool
		bit byte
	}{{p.Poll, flagPoll}, {p.Final, flagFinal}, {p.CPI, flagCPI}, {p.Demand, flagDemand}} {
		if f.on {
			b[1] |= f.bit
		}
	}
	b[2] = p.DetectMult
	b[3] = headerLen
	binary.BigEndian.PutUint32(b[4:], p.MyDiscr)
	binary.BigEndian.PutUint32(b[8:], p.YourDiscr)
	binary.BigEndian.PutUint32(b[12:], micros(p.DesiredMinTx))
	binary.BigEndian.PutUint32(b[16:], micros(p.RequiredMinRx))
	binary.BigEndian.PutUint32(b[20:], micros(p.RequiredMinEchoRx))
	return b
}

func micros(d time.Duration) uint32 {
	us := int64(d) / microsPerDuration
	return uint32(min(max(us, 0), 1<<32-1))
}

// Parse decodes a control packet and applies the checks of RFC 5880
// section 6.8.6 that need no session: version 1, a length that fits, a
// non-zero detection multiplier, no multipoint bit, a non-zero My
// Discriminator, and a zero Your Discriminator only in state Down or
// AdminDown. Packets with authentication are refused: this package
// supports none.
func Parse(b []byte) (Packet, error) {
	bad := func(why string) (Packet, error) { return Packet{}, fmt.Errorf("%w: %s", ErrInvalidPacket, why) }
	if len(b) < headerLen {
		return bad("shorter than 24 bytes")
	}
	if v := b[0] >> 5; v != version {
		return bad("version " + strconv.Itoa(int(v)))
	}
	flags := b[1]
	p := Packet{
		Diag:              Diag(b[0] & maxDiag),
		State:             State(b[1] >> 6),
		Poll:              flags&flagPoll != 0,
		Final:             flags&flagFinal != 0,
		CPI:               flags&flagCPI != 0,
		Demand:            flags&flagDemand != 0,
		DetectMult:        b[2],
		MyDiscr:           binary.BigEndian.Uint32(b[4:]),
		YourDiscr:         binary.BigEndian.Uint32(b[8:]),
		DesiredMinTx:      time.Duration(binary.BigEndian.Uint32(b[12:])) * time.Microsecond,
		RequiredMinRx:     time.Duration(binary.BigEndian.Uint32(b[16:])) * time.Microsecond,
		RequiredMinEchoRx: time.Duration(binary.BigEndian.Uint32(b[20:])) * time.Microsecond,
	}
	switch length := int(b[3]); {
	case length < headerLen || length > len(b):
		return bad("length field " + strconv.Itoa(length))
	case flags&flagAuth != 0:
		return bad("authentication is not supported")
	case flags&flagMultipoint != 0:
		return bad("multipoint bit set")
	case p.DetectMult == 0:
		return bad("detection multiplier 0")
	case p.MyDiscr == 0:
		return bad("My Discriminator 0")
	case p.YourDiscr == 0 && p.State != Down && p.State != AdminDown:
		return bad("Your Discriminator 0 in state " + p.State.String())
	}
	return p, nil
}
