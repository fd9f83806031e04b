package ipam_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"

	"github.com/lbkit/lbkit/ipam"
)

func ExampleParseRange() {
	for _, s := range []string{
		"172.18.255.200/29",
		"10.0.0.5 - 10.0.0.9",
		"10.0.0.0-10.0.0.255",
		"2001:db8:dead:beef::/64",
		"::/0",
		"10.0.0.1/24",
	} {
		r, err := ipam.ParseRange(s)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(r, r.Family(), r.Size())
	}
	// Output:
	// 172.18.255.200/29 IPv4 8
	// 10.0.0.5-10.0.0.9 IPv4 5
	// 10.0.0.0-10.0.0.255 IPv4 256
	// 2001:db8:dead:beef::/64 IPv6 18446744073709551616
	// ::/0 IPv6 340282366920938463463374607431768211456
	// ipam: invalid range "10.0.0.1/24": host bits set (did you mean 10.0.0.0/24?)
}

func ExampleAllocator() {
	a, err := ipam.NewAllocator([]ipam.Range{
		ipam.MustParseRange("172.18.255.200/29"),
		ipam.MustParseRange("2001:db8:dead:beef::/64"),
	}, ipam.WithFirstLastReserved())
	if err != nil {
		panic(err)
	}
	v4, _ := a.Allocate(ipam.IPv4)
	fmt.Println(v4)
	if err := a.AllocateAddr(netip.MustParseAddr("2001:db8:dead:beef::111")); err != nil {
		panic(err)
	}
	err = a.AllocateAddr(v4)
	fmt.Println(errors.Is(err, ipam.ErrInUse), err)
	fmt.Println("v4 free", a.Free(ipam.IPv4), "used", a.Used(ipam.IPv4))
	fmt.Println("v6 free", a.Free(ipam.IPv6), "used", a.Used(ipam.IPv6))
	_ = a.Release(v4)
	fmt.Println(a.Allocated(v4))
	// Output:
	// 172.18.255.201
	// true ipam: address in use: 172.18.255.201
	// v4 free 5 used 1
	// v6 free 18446744073709551613 used 1
	// false
}

func ExampleWithStrategy() {
	a, _ := ipam.NewAllocator(
		[]ipam.Range{ipam.MustParseRange("2001:db8::/64")},
		ipam.WithStrategy(ipam.Random),
		ipam.WithRandSource(rand.NewPCG(1, 2)), // fixed seed: reproducible
	)
	x, _ := a.Allocate(ipam.IPv6)
	y, _ := a.Allocate(ipam.IPv6)
	r := ipam.MustParseRange("2001:db8::/64")
	fmt.Println(r.Contains(x), r.Contains(y), x != y)
	// Output:
	// true true true
}
