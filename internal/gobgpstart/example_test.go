package gobgpstart_test

import (
	"context"
	"fmt"

	api "github.com/osrg/gobgp/v4/api"
	"github.com/osrg/gobgp/v4/pkg/server"

	"github.com/lbkit/lbkit/internal/gobgpstart"
)

// Two GoBGP servers in one process, started and stopped through the
// package so that their starts are ordered.
func Example() {
	ctx := context.Background()
	var srvs []*server.BgpServer
	for i, id := range []string{"10.255.8.1", "10.255.8.2"} {
		srv := server.NewBgpServer()
		go srv.Serve()
		err := gobgpstart.Start(ctx, srv, &api.StartBgpRequest{Global: &api.Global{
			Asn: 65000 + uint32(i), RouterId: id, ListenPort: -1,
		}})
		if err != nil {
			fmt.Println(err)
			return
		}
		srvs = append(srvs, srv)
	}
	for _, srv := range srvs {
		g, err := srv.GetBgp(ctx, &api.GetBgpRequest{})
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println("AS", g.Global.Asn, "router ID", g.Global.RouterId)
	}
	for _, srv := range srvs {
		if err := gobgpstart.Stop(srv); err != nil {
			fmt.Println(err)
		}
	}
	// Output:
	// AS 65000 router ID 10.255.8.1
	// AS 65001 router ID 10.255.8.2
}
