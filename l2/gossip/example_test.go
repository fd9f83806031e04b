package gossip_test

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/lbkit/lbkit/l2/gossip"
)

// Three members on loopback elect one leader for a service; when the
// leader leaves, another takes over.
func Example() {
	ctx := context.Background()
	var nodes []*gossip.Cluster
	for _, name := range []string{"node1", "node2", "node3"} {
		cfg := gossip.Config{Name: name, Bind: netip.MustParseAddrPort("127.0.0.1:0")}
		if len(nodes) > 0 {
			cfg.Join = []string{nodes[0].Addr().String()}
		}
		c, err := gossip.New(ctx, cfg)
		if err != nil {
			fmt.Println(err)
			return
		}
		defer c.Close()
		nodes = append(nodes, c)
	}
	const key = "batuu/deathstar"
	leader := func(cs []*gossip.Cluster) string {
		for range 1000 { // until all agree
			l, _ := cs[0].Leader(key)
			agree := len(cs[0].Members()) == len(cs)
			for _, c := range cs[1:] {
				m, _ := c.Leader(key)
				agree = agree && m == l && len(c.Members()) == len(cs)
			}
			if agree {
				return l
			}
			time.Sleep(10 * time.Millisecond)
		}
		return "no agreement"
	}

	first := leader(nodes)
	fmt.Println("leader:", first)
	i := slices.IndexFunc(nodes, func(c *gossip.Cluster) bool { return c.Name() == first })
	nodes[i].Close() // leaves: the others take over at once
	fmt.Println("after it leaves:", leader(slices.Delete(nodes, i, i+1)))
	// Output:
	// leader: node3
	// after it leaves: node2
}
