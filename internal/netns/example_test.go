package netns_test

import (
	"fmt"
	"strings"

	"github.com/lbkit/lbkit/internal/netns"
)

// Names are unique per call, so packages tested in parallel never collide,
// and short enough for interface names.
func ExampleUnique() {
	a, b := netns.Unique("lbk"), netns.Unique("lbk")
	fmt.Println(strings.HasPrefix(a, "lbk"), len(a) <= 15, a != b)
	// Output: true true true
}

// Two namespaces joined by a veth pair, as the privileged tests build them.
// Not run: it needs root.
func ExampleVeth() {
	router, err := netns.New("rtr")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer router.Delete()
	node, err := netns.New("node")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer node.Delete()
	if err := netns.Veth(router, "down0", node, "up0"); err != nil {
		fmt.Println(err)
		return
	}
	_ = router.Addr("down0", "2001:db8:4e::1/64")
	_ = node.Addr("up0", "2001:db8:4e::2/64")
	out, err := node.Run("ping", "-c1", "2001:db8:4e::1")
	fmt.Println(out, err)
}
