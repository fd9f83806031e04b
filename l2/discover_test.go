package l2

import (
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMatcher(t *testing.T) {
	mac := net.HardwareAddr{2, 0, 0, 0, 0, 1}
	up, down := net.FlagUp|net.FlagBroadcast, net.FlagBroadcast
	lo := net.FlagUp | net.FlagLoopback
	tests := []struct {
		name     string
		patterns []string
		ifi      net.Interface
		want     bool
	}{
		{"no patterns: up ethernet", nil, net.Interface{Name: "eth0", Flags: up, HardwareAddr: mac}, true},
		{"no patterns: down", nil, net.Interface{Name: "eth0", Flags: down, HardwareAddr: mac}, false},
		{"no patterns: loopback", nil, net.Interface{Name: "lo", Flags: lo, HardwareAddr: mac}, false},
		{"no patterns: no MAC (tun)", nil, net.Interface{Name: "tun0", Flags: up}, false},
		{"name", []string{"eth0"}, net.Interface{Name: "eth0", Flags: up, HardwareAddr: mac}, true},
		{"named and down", []string{"eth0"}, net.Interface{Name: "eth0", Flags: down, HardwareAddr: mac}, true},
		{"named loopback", []string{"lo"}, net.Interface{Name: "lo", Flags: lo, HardwareAddr: mac}, true},
		{"named without MAC", []string{"tun0"}, net.Interface{Name: "tun0", Flags: up}, false},
		{"name is anchored", []string{"eth0"}, net.Interface{Name: "eth01", Flags: up, HardwareAddr: mac}, false},
		{"regexp", []string{"eth[0-9]+"}, net.Interface{Name: "eth12", Flags: up, HardwareAddr: mac}, true},
		{"regexp anchored", []string{"eth[0-9]+"}, net.Interface{Name: "xeth1", Flags: up, HardwareAddr: mac}, false},
		{"regexp and down", []string{"eth.*"}, net.Interface{Name: "eth1", Flags: down, HardwareAddr: mac}, false},
		{"regexp and loopback", []string{".*"}, net.Interface{Name: "lo", Flags: lo, HardwareAddr: mac}, false},
		{"second pattern", []string{"bond0", "veth.*"}, net.Interface{Name: "veth9", Flags: up, HardwareAddr: mac}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := compileMatcher(tt.patterns)
			require.NoError(t, err)
			assert.Equal(t, tt.want, m.matches(tt.ifi))
		})
	}
}
