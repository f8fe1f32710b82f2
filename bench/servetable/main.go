// Command servetable measures wasmkv serve against its floor in one run: the session
// handler of examples/serve (read a session, bump a counter, answer JSON) through each
// guest, and the same handler in plain Go (net/http and a map), at concurrency 1, 8 and
// 64 over loopback, printing req/s, p50 and p99 and the ratio to the floor. Each load
// is bounded in requests and time. make bench runs it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/wasmkv/wasmkv/bench"
)

func main() {
	n := flag.Int("n", 3000, "requests per measurement (at most)")
	max := flag.Duration("max", 4*time.Second, "time per measurement (at most)")
	flag.Parse()
	if err := run(*n, *max); err != nil {
		fmt.Fprintln(os.Stderr, "bench/servetable:", err)
		os.Exit(1)
	}
}

func run(n int, max time.Duration) error {
	ctx := context.Background()
	root, err := bench.RepoRoot()
	if err != nil {
		return err
	}
	floorURL, stopFloor, err := bench.Listen(bench.GoSessionHandler(map[string]bench.Session{"session:s1": {User: "ada"}}))
	if err != nil {
		return err
	}
	defer stopFloor()
	guests := []struct{ name, url string }{}
	url, srv, stop, err := bench.StartSessionServe(ctx, root)
	if err != nil {
		return err
	}
	defer stop()
	guests = append(guests, struct{ name, url string }{"gopher-lua (example, json module)", url + "/sessions/s1"})
	dir, err := os.MkdirTemp("", "wasmkv-servetable-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	gurl, stopGuests, err := bench.StartGuestsServe(ctx, root, dir)
	if err != nil {
		return err
	}
	defer stopGuests()
	for _, g := range []string{"gopher-lua", "puc-lua"} {
		guests = append(guests, struct{ name, url string }{g + " (JSON by hand)", gurl + "/" + g + "/sessions/s1"})
	}

	fmt.Printf("\n### wasmkv serve: session handler, GET /sessions/{id} (%s, load %s)\n\n", bench.Revision(root), loadavg())
	fmt.Println("| handler | concurrency | req/s | p50 | p99 | errors | req/s ÷ plain Go |")
	fmt.Println("|---|---|---|---|---|---|---|")
	for _, c := range []int{1, 8, 64} {
		// Warm both sides (pools, connections), then measure the floor and each guest
		// back to back, so they see the same machine.
		bench.LoadHTTP(floorURL+"/sessions/s1", c, 200, time.Second)
		floor := bench.LoadHTTP(floorURL+"/sessions/s1", c, n, max)
		fmt.Printf("| plain Go (net/http + map) | %d | %.0f | %v | %v | %d | 1 |\n", c, floor.ReqPerSec(), round(floor.P50), round(floor.P99), floor.Errors)
		for _, g := range guests {
			bench.LoadHTTP(g.url, c, 200, time.Second)
			r := bench.LoadHTTP(g.url, c, n, max)
			fmt.Printf("| %s guest | %d | %.0f | %v | %v | %d | %.3f |\n", g.name, c, r.ReqPerSec(), round(r.P50), round(r.P99), r.Errors, r.ReqPerSec()/floor.ReqPerSec())
		}
	}
	reqs, lost, err := bench.ReloadsUnderLoad(url+"/sessions/s1", 8, 10, func() error { return srv.Reload(ctx) })
	if err != nil {
		return err
	}
	fmt.Printf("\nRequests lost during 10 reloads (the SIGHUP path) under load at concurrency 8: %d of %d (target 0).\n", lost, reqs)
	fmt.Println("\nTargets (issue 16), concurrency 8: puc-lua ≥ 0.5 × plain Go, gopher-lua ≥ 0.2 ×, puc-lua p99 ≤ 2 ms.")
	fmt.Println("The JSON-by-hand rows run one handler, unchanged, on both guests; the example handler uses the json module.")
	return nil
}

func round(d time.Duration) time.Duration { return d.Round(time.Microsecond) }

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil || len(b) < 4 {
		return "unknown"
	}
	return string(b[:4])
}
