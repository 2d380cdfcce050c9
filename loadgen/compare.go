package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/idledger/idledger/testnet"
)

// CompareOptions describe a comparison: the same testnet shape and load,
// first on CometBFT's kvstore example, then on idledger.
type CompareOptions struct {
	// Dir is a work directory for the two testnets (Dir/kvstore,
	// Dir/idledger); it may exist but those two must not.
	Dir string
	// Validators and Transport give the shape (testnet.InitOptions).
	Validators int
	Transport  string
	// BasePort 0 picks free ports.
	BasePort int
	// Load is the run on each; its Dir is set per testnet.
	Load LoadOptions
	// LatencyRate, when > 0, adds a second run on each testnet after the
	// first, at this rate (which both apps should sustain), for the
	// latency comparison: latency at a rate above an app's ceiling is
	// queueing, and grows with the run's length.
	LatencyRate float64
	// Binary runs the nodes (default this executable).
	Binary string
	// Progress receives progress lines (nil: none).
	Progress io.Writer
}

// CompareResult holds both runs and their ratios.
type CompareResult struct {
	Validators int         `json:"validators"`
	Transport  string      `json:"transport"`
	KVStore    *LoadResult `json:"kvstore"`
	Idledger   *LoadResult `json:"idledger"`
	// KVStoreLatency and IdledgerLatency are the runs at LatencyRate, if
	// asked for.
	KVStoreLatency  *LoadResult `json:"kvstore_latency,omitempty"`
	IdledgerLatency *LoadResult `json:"idledger_latency,omitempty"`
	// Ratio is idledger's committed tx/s over kvstore's; LatencyRatio its
	// p50 latency over kvstore's (in the LatencyRate runs, if any).
	Ratio        float64 `json:"ratio"`
	LatencyRatio float64 `json:"latency_ratio"`
	// CPUBoundRatio is kvstore's CPU per committed transaction (its nodes
	// and the load generator, in the throughput runs) over idledger's:
	// the most Ratio can be when both runs keep every core busy, as on
	// one small machine that runs all the validators and the load. 0
	// when the CPU was not measured (not Linux).
	CPUBoundRatio float64 `json:"cpu_bound_ratio,omitempty"`
}

// Compare makes a kvstore testnet, runs the load on it and stops it, then
// does the same with an idledger testnet of the same shape.
func Compare(ctx context.Context, o CompareOptions) (*CompareResult, error) {
	progress := o.Progress
	if progress == nil {
		progress = io.Discard
	}
	if o.Dir == "" {
		return nil, errors.New("loadgen: compare: no work directory")
	}
	res := &CompareResult{Validators: o.Validators, Transport: o.Transport}
	for _, app := range []string{testnet.AppKVStore, testnet.AppIdledger} {
		dir := filepath.Join(o.Dir, app)
		fmt.Fprintf(progress, "== %s: %d validators\n", app, o.Validators)
		r, lat, err := runOne(ctx, dir, app, o, progress)
		if err != nil {
			return res, fmt.Errorf("loadgen: compare, %s: %w", app, err)
		}
		if app == testnet.AppKVStore {
			res.KVStore, res.KVStoreLatency = r, lat
		} else {
			res.Idledger, res.IdledgerLatency = r, lat
		}
	}
	if k := res.KVStore.CommittedTPS; k > 0 {
		res.Ratio = math.Round(res.Idledger.CommittedTPS/k*100) / 100
	}
	if k, i := res.KVStore.CPU, res.Idledger.CPU; k != nil && i != nil && i.NodeUsPerTx+i.LoadUsPerTx > 0 {
		res.CPUBoundRatio = math.Round((k.NodeUsPerTx+k.LoadUsPerTx)/(i.NodeUsPerTx+i.LoadUsPerTx)*100) / 100
	}
	kl, il := res.KVStore, res.Idledger
	if res.KVStoreLatency != nil {
		kl, il = res.KVStoreLatency, res.IdledgerLatency
	}
	if k := kl.Latency.P50; k > 0 {
		res.LatencyRatio = math.Round(float64(il.Latency.P50)/float64(k)*100) / 100
	}
	return res, nil
}

// runOne makes and starts one testnet, runs the load on it (and the
// latency run, if asked for) and stops it.
func runOne(ctx context.Context, dir, app string, o CompareOptions, progress io.Writer) (tput, lat *LoadResult, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, err
	}
	m, err := testnet.Init(testnet.InitOptions{Dir: dir, Validators: o.Validators, App: app, Transport: o.Transport, BasePort: o.BasePort, Progress: progress})
	if err != nil {
		return nil, nil, err
	}
	o.Validators = len(m.Nodes)
	net, err := testnet.Open(dir, testnet.OpenOptions{Binary: o.Binary})
	if err != nil {
		return nil, nil, err
	}
	if err := net.Start(ctx, progress, 2*time.Minute); err != nil {
		return nil, nil, err
	}
	defer net.Stop(testnet.DefaultStopGrace)
	all := make([]int, len(m.Nodes))
	for i := range all {
		all[i] = i
	}
	// A few blocks first, so that every node has caught up and peered.
	if err := net.WaitHeight(ctx, all, 3, 2*time.Minute, nil); err != nil {
		return nil, nil, err
	}
	lo := o.Load
	lo.Dir = dir
	lo.Progress = progress
	if tput, err = Load(ctx, lo); err != nil || o.LatencyRate <= 0 {
		return tput, nil, err
	}
	fmt.Fprintf(progress, "== %s: latency run at %g tx/s\n", app, o.LatencyRate)
	lo.Rate = o.LatencyRate
	lat, err = Load(ctx, lo)
	return tput, lat, err
}
