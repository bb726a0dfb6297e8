//go:build !unix

package main

// cpuSeconds is unknown here: shoal-bench shows no CPU figure for the Go pool.
func cpuSeconds() float64 {
	return -1
}
