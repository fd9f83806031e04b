package announcetest_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/lbkit/lbkit/announce"
	"github.com/lbkit/lbkit/announce/announcetest"
)

// A controller's unit test hands its code a Recorder, then checks what was
// announced and how the code handled an error.
func ExampleRecorder() {
	ctx := context.Background()
	rec := &announcetest.Recorder{}
	var a announce.Announcer = rec // what the controller under test gets

	rec.FailNext(announcetest.MethodAnnounce, 1, errors.New("router down"))
	ds := announce.Service{Key: "batuu/deathstar", Addrs: []netip.Addr{netip.MustParseAddr("172.18.255.201")}}
	if err := a.Announce(ctx, ds); err != nil {
		_ = a.Announce(ctx, ds) // the controller retries
	}

	fmt.Println(rec.Keys(), rec.Addrs())
	for _, c := range rec.Calls() {
		fmt.Println(c.Method, c.Key, c.Err)
	}
	// Output:
	// [batuu/deathstar] [172.18.255.201]
	// Announce batuu/deathstar router down
	// Announce batuu/deathstar <nil>
}
