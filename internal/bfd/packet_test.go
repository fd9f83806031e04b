package bfd

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPacketRoundTrip(t *testing.T) {
	p := Packet{Diag: DiagTimeExpired, State: Up, Poll: true, DetectMult: 3, MyDiscr: 7, YourDiscr: 9,
		DesiredMinTx: 300 * time.Millisecond, RequiredMinRx: 250 * time.Millisecond}
	b := p.Marshal()
	require.Len(t, b, 24)
	assert.Equal(t, byte(0x21), b[0], "version 1, diag 1")
	assert.Equal(t, byte(0xe0), b[1], "state Up, poll")
	got, err := Parse(b)
	require.NoError(t, err)
	assert.Equal(t, p, got)
}

// TestParseDown decodes a hand-assembled packet of a session starting up:
// state Down, Your Discriminator 0, 1 s transmit and 300 ms receive
// intervals.
func TestParseDown(t *testing.T) {
	b := []byte{0x20, 0x40, 0x03, 0x18, 0x6e, 0x2e, 0x5b, 0x2c, 0, 0, 0, 0, 0, 0x0f, 0x42, 0x40, 0, 0x04, 0x93, 0xe0, 0, 0, 0xc3, 0x50}
	p, err := Parse(b)
	require.NoError(t, err)
	assert.Equal(t, Down, p.State)
	assert.Equal(t, uint8(3), p.DetectMult)
	assert.Equal(t, time.Second, p.DesiredMinTx)
	assert.Equal(t, 300*time.Millisecond, p.RequiredMinRx)
}

func TestParseRefuses(t *testing.T) {
	good := Packet{State: Up, DetectMult: 3, MyDiscr: 1, YourDiscr: 2}.Marshal()
	mutate := func(f func(b []byte)) []byte {
		b := append([]byte(nil), good...)
		f(b)
		return b
	}
	for name, b := range map[string][]byte{
		"short":           good[:23],
		"version 2":       mutate(func(b []byte) { b[0] = 2 << 5 }),
		"length 23":       mutate(func(b []byte) { b[3] = 23 }),
		"length 25":       mutate(func(b []byte) { b[3] = 25 }),
		"auth":            mutate(func(b []byte) { b[1] |= flagAuth }),
		"multipoint":      mutate(func(b []byte) { b[1] |= flagMultipoint }),
		"multiplier 0":    mutate(func(b []byte) { b[2] = 0 }),
		"my discr 0":      mutate(func(b []byte) { copy(b[4:8], []byte{0, 0, 0, 0}) }),
		"your discr 0 up": mutate(func(b []byte) { copy(b[8:12], []byte{0, 0, 0, 0}) }),
	} {
		_, err := Parse(b)
		assert.True(t, errors.Is(err, ErrInvalidPacket), "%s: %v", name, err)
	}
}

func TestStateString(t *testing.T) {
	assert.Equal(t, "up", Up.String())
	assert.Equal(t, "State(4)", State(4).String())
}

// FuzzParse: Parse never panics, and what it accepts survives a round
// trip through Marshal.
func FuzzParse(f *testing.F) {
	f.Add(Packet{State: Down, DetectMult: 3, MyDiscr: 1}.Marshal())
	f.Add(Packet{State: Up, DetectMult: 3, MyDiscr: 1, YourDiscr: 2, Final: true}.Marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Parse(b)
		if err != nil {
			return
		}
		again, err := Parse(p.Marshal())
		if err != nil || again != p {
			t.Fatalf("%x -> %+v -> %+v, %v", b, p, again, err)
		}
	})
}
