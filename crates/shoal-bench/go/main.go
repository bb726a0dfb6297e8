// Command gopool is the Go worker pool that shoal-bench compares shoal's pools with: the
// seed's pattern in Go, N goroutines that read jobs from one buffered channel, with results
// sent back on a second channel. shoal-bench builds and runs it when `go` is on the PATH:
// one workload per run, with the sizes shoal-bench gives on the command line, and one JSON
// object on stdout (the wall time of each timed run, the checksum, the CPU time, and for hash
// and map the wall times of the same work done by a plain loop on one goroutine).
//
//	gopool -workload spawn-outside -workers 2 -n 200000 -budget 0.5 -max-runs 30
//
// The workloads are the ones of shoal-bench with the same names, computing the same
// checksums: spawn-outside, chain, hash, io, map and wake-latency.
package main

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"math/bits"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// hashBuffer is the size of each buffer the hash workload digests.
	hashBuffer = 16 * 1024
	// ioSleep is how long each job of the io workload sleeps.
	ioSleep = 10 * time.Millisecond
	// itemCost is the rounds of burn per item of the map workload.
	itemCost = 500
	// wakeGap is the idle pause before each sample of wake-latency.
	wakeGap = 2 * time.Millisecond
)

// Pool is the seed's worker pool: workers goroutines running the jobs sent on one buffered
// channel, until the channel is closed.
type Pool struct {
	jobs chan func()
	wg   sync.WaitGroup
}

// NewPool starts workers goroutines reading from a jobs channel of capacity buffer.
func NewPool(workers, buffer int) *Pool {
	p := &Pool{jobs: make(chan func(), buffer)}
	p.wg.Add(workers)
	for w := 0; w < workers; w++ {
		go func() {
			defer p.wg.Done()
			for job := range p.jobs {
				job()
			}
		}()
	}
	return p
}

// Submit queues a job; it blocks while the channel is full.
func (p *Pool) Submit(job func()) {
	p.jobs <- job
}

// Close lets the workers finish what is queued and waits for them to exit.
func (p *Pool) Close() {
	close(p.jobs)
	p.wg.Wait()
}

// latch counts jobs down and closes done when the last one ran.
type latch struct {
	remaining int64
	done      chan struct{}
}

func newLatch(n int) *latch {
	l := &latch{remaining: int64(n), done: make(chan struct{})}
	if n == 0 {
		close(l.done)
	}
	return l
}

func (l *latch) countDown() {
	if atomic.AddInt64(&l.remaining, -1) == 0 {
		close(l.done)
	}
}

// wait blocks until every job counted down and returns how many did.
func (l *latch) wait(n int) uint64 {
	<-l.done
	return uint64(int64(n) - atomic.LoadInt64(&l.remaining))
}

// spawnOutside: n tiny jobs submitted from outside the pool, each only counting down.
func spawnOutside(p *Pool, n int) uint64 {
	l := newLatch(n)
	for i := 0; i < n; i++ {
		p.Submit(func() { l.countDown() })
	}
	return l.wait(n)
}

// chain: n jobs, each submitting the next from inside a worker; one job in flight.
func chain(p *Pool, n int) uint64 {
	l := newLatch(1)
	var hop func(left int)
	hop = func(left int) {
		if left == 0 {
			l.countDown()
			return
		}
		p.Submit(func() { hop(left - 1) })
	}
	hop(n)
	return uint64(n) * l.wait(1)
}

// makeBuffers builds the hash workload's input: the same bytes shoal-bench hashes.
func makeBuffers(n int) [][]byte {
	bufs := make([][]byte, n)
	for i := range bufs {
		x := uint64(i) + 1
		b := make([]byte, hashBuffer)
		for j := range b {
			x = x*6364136223846793005 + 1442695040888963407
			b[j] = byte(x >> 56)
		}
		bufs[i] = b
	}
	return bufs
}

// hash: one job per buffer, each sending the first 8 bytes of its SHA-256 (little endian)
// on the results channel; the checksum is their wrapping sum.
func hash(p *Pool, bufs [][]byte) uint64 {
	results := make(chan uint64, len(bufs))
	for i := range bufs {
		b := bufs[i]
		p.Submit(func() { results <- digestWord(b) })
	}
	var sum uint64
	for range bufs {
		sum += <-results
	}
	return sum
}

// hashSequential: the hash workload's digests in a plain loop on one goroutine, no pool: Go's
// own sequential baseline, so that the pool's efficiency is measured against Go's SHA-256.
func hashSequential(bufs [][]byte) uint64 {
	var sum uint64
	for _, b := range bufs {
		sum += digestWord(b)
	}
	return sum
}

// digestWord is the first 8 bytes of b's SHA-256, little endian: what hash sums.
func digestWord(b []byte) uint64 {
	d := sha256.Sum256(b)
	return binary.LittleEndian.Uint64(d[:8])
}

// ioJobs: n jobs that sleep 10 ms (a stand-in for a blocking call), results counted.
func ioJobs(p *Pool, n int) uint64 {
	results := make(chan uint64, n)
	for i := 0; i < n; i++ {
		p.Submit(func() {
			time.Sleep(ioSleep)
			results <- 1
		})
	}
	var count uint64
	for i := 0; i < n; i++ {
		count += <-results
	}
	return count
}

// burn is shoal-bench's CPU burner: iters rounds of xorshift64 from seed.
func burn(seed uint64, iters int) uint64 {
	x := seed | 1
	for i := 0; i < iters; i++ {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	return x
}

type indexed struct {
	index int
	value uint64
}

// mapItems: the result queue, as the classic pattern writes it: one job per item sending
// (index, result) on a results channel while another goroutine submits; the results are put
// back in input order, and the checksum depends on that order.
func mapItems(p *Pool, n int) uint64 {
	results := make(chan indexed, 1024)
	go func() {
		for i := 0; i < n; i++ {
			index := i
			p.Submit(func() {
				results <- indexed{index, burn(uint64(index), itemCost)}
			})
		}
	}()
	out := make([]uint64, n)
	for k := 0; k < n; k++ {
		r := <-results
		out[r.index] = r.value
	}
	return orderedSum(out)
}

// mapSequential: the map workload's items in a plain loop on one goroutine: Go's own
// sequential baseline.
func mapSequential(n int) uint64 {
	out := make([]uint64, n)
	for i := range out {
		out[i] = burn(uint64(i), itemCost)
	}
	return orderedSum(out)
}

// orderedSum is the map workload's checksum: it depends on the order of the results.
func orderedSum(out []uint64) uint64 {
	var sum uint64
	for i, y := range out {
		sum += bits.RotateLeft64(y, i%64)
	}
	return sum
}

// wake: n samples of the time from submitting a job to that job starting, each on a pool
// left idle for 2 ms. Returns the samples in seconds and their count.
func wake(p *Pool, n int) ([]float64, uint64) {
	latencies := make([]float64, 0, n)
	started := make(chan time.Duration)
	for k := 0; k < n; k++ {
		time.Sleep(wakeGap)
		submitted := time.Now()
		p.Submit(func() { started <- time.Since(submitted) })
		latencies = append(latencies, (<-started).Seconds())
	}
	return latencies, uint64(len(latencies))
}

// result is what gopool prints: shoal-bench reads it back.
type result struct {
	Runs      []float64 `json:"runs"`
	Checksum  string    `json:"checksum"`
	CPUSecs   float64   `json:"cpu_secs"`
	Latencies []float64 `json:"latencies,omitempty"`
	SeqRuns   []float64 `json:"seq_runs,omitempty"`
	GoVersion string    `json:"go_version"`
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "gopool: "+msg)
	os.Exit(2)
}

func main() {
	workload := flag.String("workload", "", "spawn-outside, chain, hash, io, map or wake-latency")
	workers := flag.Int("workers", 2, "worker goroutines")
	n := flag.Int("n", 0, "jobs, hops, buffers, items or samples")
	budget := flag.Float64("budget", 0.5, "seconds to keep repeating timed runs")
	maxRuns := flag.Int("max-runs", 30, "most timed runs")
	buffer := flag.Int("buffer", 1024, "capacity of the jobs channel")
	flag.Parse()
	if *workers < 1 || *n < 1 || *buffer < 1 || *maxRuns < 1 {
		fail("-workers, -n, -buffer and -max-runs must each be at least 1")
	}
	p := NewPool(*workers, *buffer)
	var latencies []float64
	window := false
	var run func() uint64
	// sequential, for the CPU-bound workloads: the same work in a plain loop on one goroutine,
	// timed after each timed run of the pool.
	var sequential func() uint64
	switch *workload {
	case "spawn-outside":
		run = func() uint64 { return spawnOutside(p, *n) }
	case "chain":
		run = func() uint64 { return chain(p, *n) }
	case "hash":
		bufs := makeBuffers(*n)
		run = func() uint64 { return hash(p, bufs) }
		sequential = func() uint64 { return hashSequential(bufs) }
	case "io":
		run = func() uint64 { return ioJobs(p, *n) }
	case "map":
		run = func() uint64 { return mapItems(p, *n) }
		sequential = func() uint64 { return mapSequential(*n) }
	case "wake-latency":
		window = true
		run = func() uint64 {
			samples, count := wake(p, *n)
			latencies = samples
			return count
		}
	default:
		fail(fmt.Sprintf("unknown workload %q: use spawn-outside, chain, hash, io, map or wake-latency", *workload))
	}

	var res result
	var checksum uint64
	// cpu adds up the process's CPU time over the pool's timed runs only (-1: unknown).
	cpu := 0.0
	timedRun := func() uint64 {
		c0 := cpuSeconds()
		t := time.Now()
		got := run()
		res.Runs = append(res.Runs, time.Since(t).Seconds())
		if c1 := cpuSeconds(); c0 >= 0 && c1 >= 0 && cpu >= 0 {
			cpu += c1 - c0
		} else {
			cpu = -1
		}
		return got
	}
	if window {
		// Like shoal-bench's idle-style workloads: one run after the pool settled.
		time.Sleep(100 * time.Millisecond)
		checksum = timedRun()
	} else {
		// One warm-up run, then timed runs until the budget is spent. Where the workload has a
		// sequential version, each timed run of the pool is followed by one of it, so that both
		// see the machine in the same state (this machine may be shared and noisy).
		checksum = run()
		start := time.Now()
		for len(res.Runs) < *maxRuns && (len(res.Runs) == 0 || time.Since(start).Seconds() < *budget) {
			if got := timedRun(); got != checksum {
				fail(fmt.Sprintf("checksum changed between runs: %d, then %d", checksum, got))
			}
			if sequential != nil {
				t := time.Now()
				got := sequential()
				res.SeqRuns = append(res.SeqRuns, time.Since(t).Seconds())
				if got != checksum {
					fail(fmt.Sprintf("the sequential run's checksum %d differs from the pool's %d", got, checksum))
				}
			}
		}
	}
	res.CPUSecs = cpu
	p.Close()
	res.Checksum = strconv.FormatUint(checksum, 10)
	res.Latencies = latencies
	res.GoVersion = runtime.Version()
	if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
		fail(err.Error())
	}
}
