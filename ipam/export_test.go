package ipam

// ProcessCPU exports processCPU to the external test package's benchmarks.
var ProcessCPU = processCPU
