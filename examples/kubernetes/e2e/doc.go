// Package e2e holds lbkit's end-to-end test on Kubernetes: the reference
// scenario through a real API server, with the controller in the test
// process, the lbkit-agent program on two nodes made of network namespaces,
// BIRD 2 as the upstream router, curl as the client behind it and as a host
// on the nodes' L2 segment. It needs root, BIRD 2, curl and arping, and
// the API server binaries of package testenv.
//
//	mgmt bridge (root namespace, 198.19.N.0/24): API server ── node-a, node-b
//	client ── router (BIRD, AS 65000, 2001:db8:4e::1) ══ node-a, node-b (AS 65001)
//	host (172.18.255.10, bridge) ══ node-a seg0, node-b seg0
package e2e
