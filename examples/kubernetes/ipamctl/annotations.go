package ipamctl

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// Service annotations read by the controller. Within each group the first
// one present wins.
const (
	AnnotationIPs        = "lbkit.io/ips"
	AnnotationSharingKey = "lbkit.io/sharing-key"
	AnnotationPool       = "lbkit.io/pool"

	CiliumAnnotationIPs        = "lbipam.cilium.io/ips"
	CiliumAnnotationSharingKey = "lbipam.cilium.io/sharing-key"

	MetalLBAnnotationIPs        = "metallb.io/loadBalancerIPs"
	MetalLBAnnotationSharingKey = "metallb.io/allow-shared-ip"
	MetalLBAnnotationPool       = "metallb.io/address-pool"
)

var (
	ipAnnotations      = []string{AnnotationIPs, CiliumAnnotationIPs, MetalLBAnnotationIPs}
	sharingAnnotations = []string{AnnotationSharingKey, CiliumAnnotationSharingKey, MetalLBAnnotationSharingKey}
	poolAnnotations    = []string{AnnotationPool, MetalLBAnnotationPool}
)

// ErrInvalidAnnotation reports an annotation that cannot be parsed.
var ErrInvalidAnnotation = errors.New("invalid annotation")

// first returns the first of keys present in ann, and its value.
func first(ann map[string]string, keys []string) (key, value string, ok bool) {
	for _, k := range keys {
		if v, ok := ann[k]; ok {
			return k, v, true
		}
	}
	return "", "", false
}

// requestedAddrs returns the addresses asked for by annotation or, without
// one, by spec.loadBalancerIP. Addresses are separated by commas; blanks
// around them are ignored.
func requestedAddrs(ann map[string]string, loadBalancerIP string) ([]netip.Addr, error) {
	key, v, ok := first(ann, ipAnnotations)
	if !ok {
		if loadBalancerIP == "" {
			return nil, nil
		}
		key, v = "spec.loadBalancerIP", loadBalancerIP
	}
	var addrs []netip.Addr
	for s := range strings.SplitSeq(v, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("%w %s=%q: %q is not an IP address", ErrInvalidAnnotation, key, v, s)
		}
		addrs = append(addrs, a)
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("%w %s=%q: no address", ErrInvalidAnnotation, key, v)
	}
	return addrs, nil
}

// sharingKey returns the sharing key asked for, if any.
func sharingKey(ann map[string]string) (string, error) {
	key, v, ok := first(ann, sharingAnnotations)
	if !ok {
		return "", nil
	}
	if v = strings.TrimSpace(v); v == "" {
		return "", fmt.Errorf("%w %s: empty sharing key", ErrInvalidAnnotation, key)
	}
	return v, nil
}

// poolName returns the pool asked for, if any.
func poolName(ann map[string]string) (string, error) {
	key, v, ok := first(ann, poolAnnotations)
	if !ok {
		return "", nil
	}
	if v = strings.TrimSpace(v); v == "" {
		return "", fmt.Errorf("%w %s: empty pool name", ErrInvalidAnnotation, key)
	}
	return v, nil
}
