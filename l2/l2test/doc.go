// Package l2test provides an in-memory Ethernet segment and hosts on it,
// for unit tests of code that answers or sends ARP and NDP, such as the
// announcers of package l2: it is to l2 what announcetest is to announce.
//
// A Segment is a hub: a frame written on one of its ports reaches every
// other open port, whole and unchanged, in the order written. A Port is a
// net.PacketConn of whole Ethernet frames, so it can stand in for an
// AF_PACKET socket, for example as the Conn of an l2.Link given to
// l2.NewWithLinks. Ports also implement l2.GroupJoiner, recording the
// IPv6 multicast groups joined (a hub delivers every frame regardless).
//
// A Host is a client on a port with a MAC and addresses, as a kernel
// would be: Resolve finds the MAC of an IPv4 address with an ARP request
// and of an IPv6 address with a neighbour solicitation; Announcements and
// WaitAnnouncements list the gratuitous ARP and unsolicited neighbour
// advertisements it has seen; and it answers ARP and solicitations for its
// own addresses.
//
// # Queues and dropping
//
// Each port buffers the frames that reach it in a queue of Segment.Queue
// frames (DefaultQueue when zero). A write never blocks: when a port's
// queue is full, the frame is dropped for that port, as a congested link
// would drop it, and counted in the port's Dropped. Tests that flood a
// port should size the queue or read faster.
//
// # Concurrency and closing
//
// Segments, ports and hosts are safe for concurrent use. Closing a port
// detaches it from its segment: reads blocked on it return net.ErrClosed,
// later reads and writes return net.ErrClosed, and frames no longer reach
// it. Closing a Host closes its port and stops its goroutine.
//
// This package does not import package l2, so that l2's own tests can use it.
package l2test
