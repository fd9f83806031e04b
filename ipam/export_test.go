package ipam

// ScanAllPools makes m match every pool's selectors, in order, when it
// places a service, instead of using its pool index: the benchmarks compare
// both.
func ScanAllPools(m *Manager) { m.scanPools = true }
