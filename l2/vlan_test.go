package l2

import (
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mdlayher/packet"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// tagged inserts a VLAN tag (tpid, vid) after frame's addresses.
func tagged(frame []byte, tpid, vid uint16) []byte {
	out := append([]byte(nil), frame[:12]...)
	out = binary.BigEndian.AppendUint16(out, tpid)
	out = binary.BigEndian.AppendUint16(out, vid)
	return append(out, frame[12:]...)
}

// askMain runs in a client namespace: it sends an ARP request for svcV4
// and a neighbour solicitation for svcV6 on L2_DEV, tagged with L2_TPID
// (hex; 0: untagged) and VLAN 100, and prints "ok ARP NDP", the replies
// it saw within two seconds.
func askMain() int {
	ifi, err := net.InterfaceByName(os.Getenv("L2_DEV"))
	if err != nil {
		fmt.Println("err", err)
		return 1
	}
	tpid, _ := strconv.ParseUint(os.Getenv("L2_TPID"), 16, 16)
	c, err := packet.Listen(ifi, packet.Raw, unix.ETH_P_ALL, nil)
	if err != nil {
		fmt.Println("err", err)
		return 1
	}
	defer c.Close()
	for _, f := range [][]byte{arpRequest(broadcastMAC, clientV4, svcV4), nsFrame(nsOpts{src: clientV6, target: svcV6, slla: true})} {
		if tpid != 0 {
			f = tagged(f, uint16(tpid), 100)
		}
		if _, err := c.WriteTo(f, &packet.Addr{HardwareAddr: f[:6]}); err != nil {
			fmt.Println("err", err)
			return 1
		}
	}
	var arps, nas int
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, maxFrame)
	for {
		n, _, err := c.ReadFrom(buf)
		if err != nil {
			break
		}
		if d, ok := decodeARP(buf[:n]); ok && d.p.SenderIP == svcV4 && d.ethDst.String() == clientMAC.String() {
			arps++
		}
		if d, ok := decodeNA(buf[:n]); ok && d.na.TargetAddress == svcV6 && d.na.Solicited {
			nas++
		}
	}
	fmt.Println("ok", arps, nas)
	return 0
}

// TestKernelVLAN sends tagged requests across a veth to an announcer on
// the untagged interface: the kernel strips the tag before the packet
// socket sees the frame, so only the socket filter can tell them apart.
func TestKernelVLAN(t *testing.T) {
	host, _, n := newKernelPair(t)
	n.do(t, "announce "+kSvcKey+" "+kSvc4+" "+kSvc6)
	ask := func(tpid string) string {
		cmd := host.Helper("l2-ask", "L2_DEV=eth0", "L2_TPID="+tpid)
		cmd.Stdout = nil
		out, err := cmd.Output()
		require.NoError(t, err, "%s", out)
		return strings.TrimSpace(string(out))
	}
	var arps, nas int
	_, err := fmt.Sscanf(ask("0"), "ok %d %d", &arps, &nas)
	require.NoError(t, err)
	assert.True(t, arps >= 1 && nas >= 1, "untagged requests are answered: %d ARP, %d NDP replies", arps, nas)
	assert.Equal(t, "ok 0 0", ask("8100"), "802.1Q VLAN 100: not this interface's")
	assert.Equal(t, "ok 0 0", ask("88a8"), "802.1ad VLAN 100: not this interface's")
}
