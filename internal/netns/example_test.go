package netns_test

import (
	"context"
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

// A test runs lbkit code inside a namespace in a child process: the test
// binary re-executed there as a registered helper, answering calls.
// Not run: it needs root.
func ExampleNS_StartChild() {
	// In the package's TestMain:
	netns.Helpers["sum"] = func() int {
		return netns.Serve(func(_ context.Context, req netns.Request) (any, error) {
			var xs []int
			if err := req.Decode(&xs); err != nil {
				return nil, err
			}
			sum := 0
			for _, x := range xs {
				sum += x
			}
			return sum, nil
		})
	}

	// In a test:
	ctx := context.Background()
	ns, err := netns.New("lbk")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ns.Delete()
	child, err := ns.StartChild(ctx, ns.Helper("sum"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer child.Close()
	var sum int
	err = child.Call(ctx, "add", []int{1, 2, 39}, &sum)
	fmt.Println(sum, err)
}
