// goclient: the Go counterpart of benches/peer/client.py, built against govmomi's
// client library (Debian's golang-github-vmware-govmomi-dev, 0.24.x) in GOPATH mode:
//
//	GO111MODULE=off GOPATH=$tmp:/usr/share/gocode go build -o goclient ./benches/peer/goclient
//
// Usage: goclient URL [-creates N] [-queries N] [-retrieves N] [-toggles N] [-tag TEXT]
//
//	[-server-pid PID] [-phases create_poweron,queryperf,retrieveprops,waitforupdates]
//
// It runs the same bounded workloads as client.py and prints one JSON object of the
// same shape on stdout (see client.py's docstring and benches/peer/README.md):
//
//   - create_poweron: N sequential Folder.CreateVM + VirtualMachine.PowerOn, each task
//     waited for with govmomi's Task.Wait (which itself uses a property collector
//     filter and WaitForUpdatesEx, so the round trips per task differ from pyVim's
//     WaitForTask);
//   - queryperf: N sequential QueryPerf calls, cpu.usagemhz.average, instance "",
//     intervalId 20, maxSample 10, with the same untimed warm-up;
//   - retrieveprops: N sequential RetrievePropertiesEx calls on the session's
//     property collector for one VM and four properties;
//   - waitforupdates: a filter on runtime.powerState in a dedicated collector on
//     session A, a waiter goroutine looping on WaitForUpdatesEx (maxWaitSeconds 5),
//     power toggles on session B; issue_to_wake, power_call_rtt, update_latency.
//
// With -server-pid the server's CPU time (sum of /proc/PID/task/*/schedstat, and
// /proc/PID/stat utime+stime as a cross-check) is read before and after every timed
// loop and reported per operation. The client's own CPU time comes from getrusage.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// obj is one JSON object; encoding/json sorts its keys.
type obj = map[string]interface{}

var serverPID int

// clkTck is USER_HZ, the unit of /proc/PID/stat's utime and stime (100 on Linux x86-64).
const clkTck = 100.0

// serverCPU returns the server's CPU seconds from schedstat (ns) and from stat (ticks).
func serverCPU() (float64, float64, bool) {
	if serverPID == 0 {
		return 0, 0, false
	}
	var ns int64
	files, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", serverPID))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		fields := strings.Fields(string(b))
		if len(fields) == 0 {
			continue
		}
		if v, err := strconv.ParseInt(fields[0], 10, 64); err == nil {
			ns += v
		}
	}
	ticks := math.NaN()
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", serverPID)); err == nil {
		s := string(b)
		if i := strings.LastIndex(s, ")"); i >= 0 {
			f := strings.Fields(s[i+1:])
			if len(f) > 12 {
				u, e1 := strconv.ParseInt(f[11], 10, 64)
				k, e2 := strconv.ParseInt(f[12], 10, 64)
				if e1 == nil && e2 == nil {
					ticks = float64(u+k) / clkTck
				}
			}
		}
	}
	return float64(ns) / 1e9, ticks, true
}

func clientCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}

// meter measures wall time, client CPU and server CPU around a timed loop.
type meter struct {
	w0                            time.Time
	c0, s0, st0                   float64
	sOK                           bool
	wall, client, server, serverS float64
	serverOK                      bool
}

func startMeter() *meter {
	m := &meter{}
	m.s0, m.st0, m.sOK = serverCPU()
	m.c0 = clientCPU()
	m.w0 = time.Now()
	return m
}

func (m *meter) stop() {
	m.wall = time.Since(m.w0).Seconds()
	m.client = clientCPU() - m.c0
	s1, st1, ok := serverCPU()
	if ok && m.sOK {
		m.server, m.serverS, m.serverOK = s1-m.s0, st1-m.st0, true
	}
}

func round(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}

func (m *meter) report(n int, out obj) obj {
	out["client_cpu_s"] = round(m.client, 4)
	if m.wall > 0 {
		out["client_cpu_share_of_wall"] = round(m.client/m.wall, 3)
	}
	if m.serverOK {
		out["server_cpu_s"] = round(m.server, 4)
		if math.IsNaN(m.serverS) {
			out["server_cpu_stat_s"] = nil
		} else {
			out["server_cpu_stat_s"] = round(m.serverS, 2)
		}
		if n > 0 {
			out["server_cpu_us_per_op"] = round(m.server/float64(n)*1e6, 1)
		} else {
			out["server_cpu_us_per_op"] = nil
		}
	}
	return out
}

// pct is client.py's percentile: linear interpolation between closest ranks.
func pct(sorted []float64, p float64) float64 {
	k := float64(len(sorted)-1) * p / 100
	lo := int(k)
	hi := lo + 1
	if hi > len(sorted)-1 {
		hi = len(sorted) - 1
	}
	return sorted[lo] + (sorted[hi]-sorted[lo])*(k-float64(lo))
}

func msSummary(d []time.Duration) obj {
	if len(d) == 0 {
		return obj{"n": 0}
	}
	ms := make([]float64, len(d))
	sum := 0.0
	for i, x := range d {
		ms[i] = float64(x) / 1e6
		sum += ms[i]
	}
	sort.Float64s(ms)
	return obj{"n": len(ms), "p50_ms": round(pct(ms, 50), 3), "p95_ms": round(pct(ms, 95), 3),
		"min_ms": round(ms[0], 3), "max_ms": round(ms[len(ms)-1], 3), "mean_ms": round(sum/float64(len(ms)), 3)}
}

func errText(err error) string {
	s := strings.TrimSpace(err.Error())
	if len(s) > 500 {
		s = s[:500]
	}
	return fmt.Sprintf("%T: %s", err, s)
}

func connect(ctx context.Context, raw string) (*govmomi.Client, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	if u.User == nil {
		u.User = url.UserPassword("user", "pass")
	}
	if u.Path == "" {
		u.Path = "/sdk"
	}
	cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	return govmomi.NewClient(cctx, u, true)
}

type inv struct {
	dc      *object.Datacenter
	cluster *object.ClusterComputeResource
}

// inventory finds the first datacenter and its first cluster, as client.py does.
func inventory(ctx context.Context, c *vim25.Client) (*inv, error) {
	f := find.NewFinder(c, false)
	dcs, err := f.DatacenterList(ctx, "*")
	if err != nil {
		return nil, err
	}
	f.SetDatacenter(dcs[0])
	cls, err := f.ClusterComputeResourceList(ctx, "*")
	if err != nil {
		return nil, err
	}
	return &inv{dc: dcs[0], cluster: cls[0]}, nil
}

func findVM(ctx context.Context, c *vim25.Client, dc *object.Datacenter, name string) (types.ManagedObjectReference, error) {
	ref, err := object.NewSearchIndex(c).FindByInventoryPath(ctx, dc.InventoryPath+"/vm/"+name)
	if err != nil {
		return types.ManagedObjectReference{}, err
	}
	if ref == nil {
		return types.ManagedObjectReference{}, fmt.Errorf("VM %s not found by SearchIndex.FindByInventoryPath", name)
	}
	return ref.Reference(), nil
}

// modelVM finds a model VM by name in the first datacenter (the phases' shared set-up).
func modelVM(ctx context.Context, c *vim25.Client, name string) (types.ManagedObjectReference, error) {
	in, err := inventory(ctx, c)
	if err != nil {
		return types.ManagedObjectReference{}, err
	}
	return findVM(ctx, c, in.dc, name)
}

func phaseCreate(ctx context.Context, c *vim25.Client, n int, tag string) obj {
	in, err := inventory(ctx, c)
	if err != nil {
		return obj{"error": errText(err)}
	}
	pool, err := in.cluster.ResourcePool(ctx)
	if err != nil {
		return obj{"error": errText(err)}
	}
	folders, err := in.dc.Folders(ctx)
	if err != nil {
		return obj{"error": errText(err)}
	}
	done := 0
	var perOp []time.Duration
	m := startMeter()
	for i := 0; i < n; i++ {
		s := time.Now()
		err = func() error {
			tctx, cancel := context.WithTimeout(ctx, 60*time.Second)
			defer cancel()
			spec := types.VirtualMachineConfigSpec{Name: fmt.Sprintf("peer-%s-%d", tag, i), NumCPUs: 1, MemoryMB: 128,
				Files: &types.VirtualMachineFileInfo{VmPathName: "[LocalDS_0]"}}
			task, err := folders.VmFolder.CreateVM(tctx, spec, pool, nil)
			if err != nil {
				return err
			}
			info, err := task.WaitForResult(tctx)
			if err != nil {
				return err
			}
			ref, ok := info.Result.(types.ManagedObjectReference)
			if !ok {
				return fmt.Errorf("CreateVM_Task result is %T", info.Result)
			}
			ptask, err := object.NewVirtualMachine(c, ref).PowerOn(tctx)
			if err != nil {
				return err
			}
			return ptask.Wait(tctx)
		}()
		if err != nil {
			break
		}
		perOp = append(perOp, time.Since(s))
		done++
	}
	m.stop()
	if err != nil {
		return obj{"error": errText(err), "completed": done}
	}
	return m.report(done, obj{"ops": done, "seconds": round(m.wall, 4), "ops_per_s": round(float64(done)/m.wall, 2),
		"per_op": msSummary(perOp)})
}

func phaseQueryPerf(ctx context.Context, c *vim25.Client, n int, vmName string, minSamples int, wait time.Duration) obj {
	vm, err := modelVM(ctx, c, vmName)
	if err != nil {
		return obj{"error": errText(err)}
	}
	pmRef := *c.ServiceContent.PerfManager
	var pm mo.PerformanceManager
	if err := property.DefaultCollector(c).RetrieveOne(ctx, pmRef, []string{"perfCounter"}, &pm); err != nil {
		return obj{"error": errText(err)}
	}
	cid := int32(-1)
	for _, pc := range pm.PerfCounter {
		if pc.GroupInfo.GetElementDescription().Key == "cpu" && pc.NameInfo.GetElementDescription().Key == "usagemhz" &&
			pc.RollupType == types.PerfSummaryTypeAverage {
			cid = pc.Key
			break
		}
	}
	if cid < 0 {
		return obj{"error": "cpu.usagemhz.average not in perfManager.perfCounter"}
	}
	req := types.QueryPerf{This: pmRef, QuerySpec: []types.PerfQuerySpec{{Entity: vm, IntervalId: 20, MaxSample: 10,
		MetricId: []types.PerfMetricId{{CounterId: cid, Instance: ""}}}}}
	count := func(res *types.QueryPerfResponse) int {
		k := 0
		for _, b := range res.Returnval {
			if em, ok := b.(*types.PerfEntityMetric); ok {
				k += len(em.SampleInfo)
			}
		}
		return k
	}
	// Untimed warm-up: poll until a call returns >= minSamples samples, or wait elapses.
	w0 := time.Now()
	for {
		res, err := methods.QueryPerf(ctx, c, &req)
		if err != nil {
			return obj{"error": errText(err), "counter_id": cid}
		}
		if count(res) >= minSamples || time.Since(w0) >= wait {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	warmup := round(time.Since(w0).Seconds(), 2)
	smin, smax, done := math.MaxInt32, 0, 0
	m := startMeter()
	for i := 0; i < n; i++ {
		var res *types.QueryPerfResponse
		res, err = methods.QueryPerf(ctx, c, &req)
		if err != nil {
			break
		}
		k := count(res)
		if k < smin {
			smin = k
		}
		if k > smax {
			smax = k
		}
		done++
	}
	m.stop()
	if err != nil {
		return obj{"error": errText(err), "completed": done, "counter_id": cid}
	}
	return m.report(done, obj{"calls": done, "seconds": round(m.wall, 4), "calls_per_s": round(float64(done)/m.wall, 2),
		"counter_id": cid, "vm": vmName, "samples_per_call_min": smin, "samples_per_call_max": smax,
		"warmup_s": warmup, "min_samples_wanted": minSamples})
}

// retrievePaths are the properties each RetrievePropertiesEx call asks for (client.py: RETRIEVE_PATHS).
var retrievePaths = []string{"name", "runtime.powerState", "config.hardware.numCPU", "config.hardware.memoryMB"}

func phaseRetrieve(ctx context.Context, c *vim25.Client, n int, vmName string) obj {
	vm, err := modelVM(ctx, c, vmName)
	if err != nil {
		return obj{"error": errText(err)}
	}
	req := types.RetrievePropertiesEx{This: c.ServiceContent.PropertyCollector, SpecSet: []types.PropertyFilterSpec{{
		ObjectSet: []types.ObjectSpec{{Obj: vm, Skip: types.NewBool(false)}},
		PropSet:   []types.PropertySpec{{Type: "VirtualMachine", PathSet: retrievePaths}},
	}}}
	props, done := 0, 0
	m := startMeter()
	for i := 0; i < n; i++ {
		var res *types.RetrievePropertiesExResponse
		res, err = methods.RetrievePropertiesEx(ctx, c, &req)
		if err != nil {
			break
		}
		if res.Returnval == nil || len(res.Returnval.Objects) != 1 {
			err = errors.New("RetrievePropertiesEx did not return exactly one object")
			break
		}
		props = len(res.Returnval.Objects[0].PropSet)
		done++
	}
	m.stop()
	if err != nil {
		return obj{"error": errText(err), "completed": done}
	}
	return m.report(done, obj{"calls": done, "seconds": round(m.wall, 4), "calls_per_s": round(float64(done)/m.wall, 2),
		"vm": vmName, "paths": retrievePaths, "props_returned": props})
}

type wake struct {
	t     time.Time
	state string
	err   error
}

func powerStateFrom(us *types.UpdateSet) string {
	v := ""
	for _, fu := range us.FilterSet {
		for _, ou := range fu.ObjectSet {
			for _, ch := range ou.ChangeSet {
				if ch.Name == "runtime.powerState" && (ch.Op == types.PropertyChangeOpAssign || ch.Op == types.PropertyChangeOpAdd) {
					v = fmt.Sprint(ch.Val)
				}
			}
		}
	}
	return v
}

func phaseWFU(ctx context.Context, rawURL string, cb *vim25.Client, n int, vmName string) obj {
	vm, err := modelVM(ctx, cb, vmName)
	if err != nil {
		return obj{"error": errText(err)}
	}
	ga, err := connect(ctx, rawURL)
	if err != nil {
		return obj{"error": "connect A: " + errText(err)}
	}
	ca := ga.Client
	defer func() { _ = ga.Logout(context.Background()) }()

	pc, dedicated := ca.ServiceContent.PropertyCollector, true
	if r, err := methods.CreatePropertyCollector(ctx, ca, &types.CreatePropertyCollector{This: pc}); err == nil {
		pc = r.Returnval
	} else {
		dedicated = false
	}
	fr, err := methods.CreateFilter(ctx, ca, &types.CreateFilter{This: pc, PartialUpdates: true, Spec: types.PropertyFilterSpec{
		ObjectSet: []types.ObjectSpec{{Obj: vm, Skip: types.NewBool(false)}},
		PropSet:   []types.PropertySpec{{Type: "VirtualMachine", PathSet: []string{"runtime.powerState"}}},
	}})
	if err != nil {
		return obj{"error": errText(err)}
	}
	five := int32(5)
	opts := &types.WaitOptions{MaxWaitSeconds: &five}
	first, err := methods.WaitForUpdatesEx(ctx, ca, &types.WaitForUpdatesEx{This: pc, Version: "", Options: opts})
	if err != nil {
		return obj{"error": errText(err)}
	}
	if first.Returnval == nil {
		return obj{"error": "initial WaitForUpdatesEx returned no update set"}
	}
	version, state := first.Returnval.Version, powerStateFrom(first.Returnval)

	events := make(chan wake, 1024)
	wctx, stopWaiter := context.WithCancel(ctx)
	waiterDone := make(chan struct{})
	go func() {
		defer close(waiterDone)
		v := version
		for wctx.Err() == nil {
			r, err := methods.WaitForUpdatesEx(wctx, ca, &types.WaitForUpdatesEx{This: pc, Version: v, Options: opts})
			t := time.Now()
			if err != nil {
				if wctx.Err() == nil {
					events <- wake{t: t, err: err}
				}
				return
			}
			if r.Returnval == nil { // maxWaitSeconds elapsed with no change
				continue
			}
			v = r.Returnval.Version
			if ps := powerStateFrom(r.Returnval); ps != "" {
				events <- wake{t: t, state: ps}
			}
		}
	}()

	var issueToWake, rtt, lat []time.Duration
	err = func() error {
		for i := 0; i < n; i++ {
			on := state == string(types.VirtualMachinePowerStatePoweredOn)
			want := string(types.VirtualMachinePowerStatePoweredOn)
			if on {
				want = string(types.VirtualMachinePowerStatePoweredOff)
			}
			tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			t0 := time.Now()
			var task types.ManagedObjectReference
			if on {
				r, err := methods.PowerOffVM_Task(tctx, cb, &types.PowerOffVM_Task{This: vm})
				if err != nil {
					cancel()
					return err
				}
				task = r.Returnval
			} else {
				r, err := methods.PowerOnVM_Task(tctx, cb, &types.PowerOnVM_Task{This: vm})
				if err != nil {
					cancel()
					return err
				}
				task = r.Returnval
			}
			t1 := time.Now()
			deadline := time.NewTimer(time.Until(t0.Add(10 * time.Second)))
			var woke time.Time
			for woke.IsZero() {
				select {
				case ev := <-events:
					if ev.err != nil {
						deadline.Stop()
						cancel()
						return fmt.Errorf("waiter failed: %s", errText(ev.err))
					}
					if ev.state == want {
						woke = ev.t
					}
				case <-deadline.C:
					cancel()
					return fmt.Errorf("no WaitForUpdatesEx wake-up with powerState=%s within 10 s", want)
				}
			}
			deadline.Stop()
			err := object.NewTask(cb, task).Wait(tctx)
			cancel()
			if err != nil {
				return err
			}
			issueToWake = append(issueToWake, woke.Sub(t0))
			rtt = append(rtt, t1.Sub(t0))
			lat = append(lat, woke.Sub(t1))
			state = want
		}
		return nil
	}()
	stopWaiter()
	select {
	case <-waiterDone:
	case <-time.After(8 * time.Second):
	}
	_, _ = methods.DestroyPropertyFilter(ctx, ca, &types.DestroyPropertyFilter{This: fr.Returnval})
	if dedicated {
		_, _ = methods.DestroyPropertyCollector(ctx, ca, &types.DestroyPropertyCollector{This: pc})
	}
	out := obj{"toggles": len(lat), "vm": vmName, "dedicated_collector": dedicated,
		"update_latency": msSummary(lat), "issue_to_wake": msSummary(issueToWake), "power_call_rtt": msSummary(rtt)}
	if err != nil {
		out["error"] = errText(err)
	}
	return out
}

func runPhase(name string, f func() obj) obj {
	t0 := time.Now()
	var r obj
	func() {
		defer func() {
			if p := recover(); p != nil {
				r = obj{"error": fmt.Sprintf("panic: %v", p)}
			}
		}()
		r = f()
	}()
	fmt.Fprintf(os.Stderr, "goclient: %s done in %.2f s\n", name, time.Since(t0).Seconds())
	return r
}

func main() {
	creates := flag.Int("creates", 200, "create + power-on operations")
	queries := flag.Int("queries", 500, "QueryPerf calls")
	retrieves := flag.Int("retrieves", 500, "RetrievePropertiesEx calls")
	toggles := flag.Int("toggles", 50, "power toggles")
	tag := flag.String("tag", "g", "name tag of the created VMs")
	perfVM := flag.String("perf-vm", "DC0_C0_RP0_VM0", "VM for QueryPerf and RetrievePropertiesEx")
	toggleVM := flag.String("toggle-vm", "DC0_C0_RP0_VM1", "VM whose power is toggled")
	minSamples := flag.Int("perf-min-samples", 1, "untimed warm-up: wait until QueryPerf returns at least this many samples")
	perfWait := flag.Float64("perf-wait", 30, "bound (s) on that warm-up")
	phases := flag.String("phases", "create_poweron,queryperf,retrieveprops,waitforupdates", "phases to run")
	pid := flag.Int("server-pid", 0, "server PID on this machine: also report its CPU time per op")
	// The URL comes first (as compare.sh passes it) or after the flags.
	args, rawURL := os.Args[1:], ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		rawURL, args = args[0], args[1:]
	}
	if err := flag.CommandLine.Parse(args); err != nil {
		os.Exit(2)
	}
	if rawURL == "" && flag.NArg() > 0 {
		rawURL = flag.Arg(0)
	}
	if rawURL == "" {
		fmt.Fprintln(os.Stderr, "usage: goclient URL [flags]")
		os.Exit(2)
	}
	serverPID = *pid

	shown := rawURL
	if i := strings.LastIndex(shown, "@"); i >= 0 {
		shown = shown[i+1:]
	}
	out := obj{"url": shown, "client": "go govmomi"}
	ctx := context.Background()
	g, err := connect(ctx, rawURL)
	if err != nil {
		out["error"] = "connect: " + errText(err)
		_ = json.NewEncoder(os.Stdout).Encode(out)
		os.Exit(1)
	}
	c := g.Client
	about := c.ServiceContent.About
	out["server"] = obj{"fullName": about.FullName, "apiVersion": about.ApiVersion, "negotiated": c.Version}
	want := map[string]bool{}
	for _, p := range strings.Split(*phases, ",") {
		want[strings.TrimSpace(p)] = true
	}
	if want["create_poweron"] {
		out["create_poweron"] = runPhase("create_poweron", func() obj { return phaseCreate(ctx, c, *creates, *tag) })
	}
	if want["queryperf"] {
		out["queryperf"] = runPhase("queryperf", func() obj {
			return phaseQueryPerf(ctx, c, *queries, *perfVM, *minSamples, time.Duration(*perfWait*float64(time.Second)))
		})
	}
	if want["retrieveprops"] {
		out["retrieveprops"] = runPhase("retrieveprops", func() obj { return phaseRetrieve(ctx, c, *retrieves, *perfVM) })
	}
	if want["waitforupdates"] {
		out["waitforupdates"] = runPhase("waitforupdates", func() obj { return phaseWFU(ctx, rawURL, c, *toggles, *toggleVM) })
	}
	_ = g.Logout(ctx)
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		os.Exit(1)
	}
}
