package lab_test

import (
	"fmt"
	"os"

	"github.com/lbkit/lbkit/examples/deathstar/lab"
)

// A World tells the story through a Guide: numbered steps, what happens,
// and the checks that passed.
func ExampleGuide() {
	g := lab.NewGuide(os.Stdout)
	g.Step("a pool %s", "empire-ip-pool")
	g.Say("controller: SetPool")
	g.OK("6 IPv4 addresses free")
	g.Indent(`{"name":"Death Star"}`)
	fmt.Println(g.Fail("pool missing"))
	// Output:
	// Step 1: a pool empire-ip-pool
	//    controller: SetPool
	//    ok: 6 IPv4 addresses free
	//       | {
	//       |   "name": "Death Star"
	//       | }
	// step 1: the story did not go as told: pool missing
}
