package freeport_test

import (
	"fmt"
	"net/netip"

	"github.com/lbkit/lbkit/internal/freeport"
)

func Example() {
	port, err := freeport.TCP(netip.MustParseAddr("127.0.0.1"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(port > 0)
	// Output: true
}
