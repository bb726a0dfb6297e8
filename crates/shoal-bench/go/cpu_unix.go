//go:build unix

package main

import "syscall"

// cpuSeconds is the user plus system CPU time of the whole process, or -1 if unknown.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return -1
	}
	sec := float64(ru.Utime.Sec) + float64(ru.Stime.Sec)
	usec := float64(ru.Utime.Usec) + float64(ru.Stime.Usec)
	return sec + usec/1e6
}
