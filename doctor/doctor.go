package doctor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	cmttypes "github.com/cometbft/cometbft/types"

	"google.golang.org/protobuf/proto"

	"github.com/idledger/idledger/app"
	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/chain/chainpb"
	"github.com/idledger/idledger/client"
	"github.com/idledger/idledger/genesis"
	"github.com/idledger/idledger/node"
)

// Statuses of a Result.
const (
	OK   = "ok"
	Warn = "warn"
	Fail = "fail"
)

// Result is the outcome of one check.
type Result struct {
	Check  string `json:"check"`
	Status string `json:"status"`
	Detail string `json:"detail"`
}

// Report is every check's result.
type Report struct {
	Home   string   `json:"home"`
	RPC    string   `json:"rpc,omitempty"`
	OK     bool     `json:"ok"` // no check failed
	Checks []Result `json:"checks"`
}

// Thresholds of the checks.
const (
	// MaxLag is how many blocks a node may trail its highest peer.
	MaxLag = 5
	// MinFreeBytes and MinFreePercent: less free disk fails the check;
	// under WarnFreePercent warns.
	MinFreeBytes    = 1 << 30
	MinFreePercent  = 5
	WarnFreePercent = 10
	// MaxFutureBlock is how far the last block's time may lie ahead of
	// this clock; MaxBlockAge how far behind it, for a caught-up node.
	MaxFutureBlock = 2 * time.Second
	MaxBlockAge    = 60 * time.Second
)

// Options configure Run.
type Options struct {
	Home string
	// RPC overrides the node's RPC URL (default: from config.toml).
	RPC string
	// Timeout bounds each RPC call (default 5s).
	Timeout time.Duration
	// Now is the time to judge clock skew against (default time.Now).
	Now func() time.Time
}

// Run runs every check on the home and the node that runs from it.
func Run(ctx context.Context, o Options) *Report {
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	r := &Report{Home: o.Home}
	add := func(res ...Result) { r.Checks = append(r.Checks, res...) }
	c, err := node.LoadConfig(o.Home)
	if err != nil {
		add(Result{"config", Fail, err.Error()})
		r.finish()
		return r
	}
	add(CheckConfig(c)...)
	add(CheckKeyFiles(c, node.MemberKeyPath(o.Home))...)
	add(checkDisk(c.DBDir()))

	r.RPC = o.RPC
	if r.RPC == "" {
		r.RPC = node.RPCURL(c)
	}
	add(checkNode(ctx, c, r.RPC, o)...)
	r.finish()
	return r
}

func (r *Report) finish() {
	r.OK = true
	for _, c := range r.Checks {
		if c.Status == Fail {
			r.OK = false
		}
	}
}

// CheckConfig checks config.toml and the genesis for mistakes that keep a
// node from working in a network.
func CheckConfig(c *cmtcfg.Config) []Result {
	var out []Result
	if err := c.ValidateBasic(); err != nil {
		out = append(out, Result{"config", Fail, "config.toml: " + err.Error()})
	} else {
		out = append(out, Result{"config", OK, "config.toml is valid"})
	}
	doc, err := cmttypes.GenesisDocFromFile(c.GenesisFile())
	if err == nil {
		_, err = genesis.FromDoc(doc)
	}
	if err != nil {
		out = append(out, Result{"genesis", Fail, fmt.Sprintf("%s: %v", c.GenesisFile(), err)})
	} else {
		out = append(out, Result{"genesis", OK, fmt.Sprintf("chain %s, %d genesis validators", doc.ChainID, len(doc.Validators))})
		if len(doc.Validators) > 1 && c.P2P.PersistentPeers == "" && c.P2P.Seeds == "" && !c.P2P.LibP2PEnabled() {
			out = append(out, Result{"peers config", Fail, "several validators but no persistent_peers or seeds: this node cannot find the network"})
		}
	}
	if !c.FilterPeers {
		out = append(out, Result{"peer filter", Warn, "filter_peers is off: any node may connect, not only the members' registered nodes"})
	}
	if !c.Instrumentation.IsPrometheusEnabled() {
		out = append(out, Result{"metrics", Warn, "Prometheus metrics are off ([instrumentation] prometheus = false)"})
	} else {
		out = append(out, Result{"metrics", OK, "http://" + c.Instrumentation.PrometheusListenAddr + "/metrics"})
	}
	return out
}

// CheckKeyFiles checks that the secret key files exist where needed and
// that neither group nor others may read them.
func CheckKeyFiles(c *cmtcfg.Config, memberKey string) []Result {
	var out []Result
	check := func(what, path string, need bool, missing string) {
		fi, err := os.Stat(path)
		switch {
		case errors.Is(err, fs.ErrNotExist) && !need:
			out = append(out, Result{what, OK, missing})
		case err != nil:
			out = append(out, Result{what, Fail, err.Error()})
		case fi.Mode().Perm()&0o077 != 0:
			out = append(out, Result{what, Fail, fmt.Sprintf("%s is readable by others (mode %04o): chmod 600 %s", path, fi.Mode().Perm(), path)})
		default:
			out = append(out, Result{what, OK, fmt.Sprintf("%s (mode %04o)", path, fi.Mode().Perm())})
		}
	}
	check("node key", c.NodeKeyFile(), true, "")
	if c.PrivValidatorListenAddr != "" {
		if _, err := os.Stat(c.PrivValidatorKeyFile()); err == nil {
			out = append(out, Result{"validator key", Warn, fmt.Sprintf("a remote signer is configured (%s) but %s is still on this machine: move it to the signer", c.PrivValidatorListenAddr, c.PrivValidatorKeyFile())})
		} else {
			out = append(out, Result{"validator key", OK, "off this machine: remote signer at " + c.PrivValidatorListenAddr})
		}
	} else {
		check("validator key", c.PrivValidatorKeyFile(), true, "")
	}
	check("member key", memberKey, false, "not on this machine")
	return out
}

// CheckDiskSpace judges free space: fail under MinFreeBytes or
// MinFreePercent, warn under WarnFreePercent.
func CheckDiskSpace(path string, free, total uint64) Result {
	if total == 0 {
		return Result{"disk", Warn, "cannot tell the size of the disk holding " + path}
	}
	pct := float64(free) * 100 / float64(total)
	d := fmt.Sprintf("%s free of %s (%.0f%%) at %s", bytesString(free), bytesString(total), pct, path)
	switch {
	case free < MinFreeBytes || pct < MinFreePercent:
		return Result{"disk", Fail, d}
	case pct < WarnFreePercent:
		return Result{"disk", Warn, d}
	}
	return Result{"disk", OK, d}
}

func checkDisk(dir string) Result {
	for p := dir; ; p = filepath.Dir(p) {
		var st syscall.Statfs_t
		if err := syscall.Statfs(p, &st); err == nil {
			return CheckDiskSpace(p, st.Bavail*uint64(st.Bsize), st.Blocks*uint64(st.Bsize))
		}
		if p == filepath.Dir(p) {
			return Result{"disk", Warn, "cannot read the free space of " + dir}
		}
	}
}

func bytesString(n uint64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatUint(n, 10) + " B"
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// CheckClock compares this clock with the time of the last block: a block
// from the future means this clock is behind; for a caught-up node, an old
// last block means this clock is ahead or the chain has stalled.
func CheckClock(now, blockTime time.Time, catchingUp bool) Result {
	skew := now.Sub(blockTime)
	switch {
	case skew < -MaxFutureBlock:
		return Result{"clock", Fail, fmt.Sprintf("the last block's time is %s ahead of this clock: this clock is behind (check NTP)", (-skew).Round(time.Millisecond))}
	case !catchingUp && skew > MaxBlockAge:
		return Result{"clock", Warn, fmt.Sprintf("the last block is %s old: the chain has stalled or this clock is ahead (check NTP)", skew.Round(time.Second))}
	}
	return Result{"clock", OK, fmt.Sprintf("last block %s before this clock", skew.Round(time.Millisecond))}
}

// PeerView is what the node knows of one peer.
type PeerView struct {
	ID      string `json:"id"`
	Moniker string `json:"moniker,omitempty"`
	Addr    string `json:"addr,omitempty"`
	Height  int64  `json:"height"` // 0: unknown
}

// CheckPeers compares the connected peers with the configured persistent
// peers (each missing one fails) and the node's height with the highest
// peer's (a lag over MaxLag fails).
// A node that expects no peers (one validator, no peers configured) may
// have none.
func CheckPeers(height int64, catchingUp bool, connected []PeerView, persistent []string, expectPeers bool) []Result {
	var out []Result
	have := map[string]bool{}
	var names []string
	var top int64
	for _, p := range connected {
		have[strings.ToLower(p.ID)] = true
		names = append(names, p.Moniker+" "+shortID(p.ID))
		if p.Height > top {
			top = p.Height
		}
	}
	sort.Strings(names)
	if len(connected) == 0 && !expectPeers {
		return append(out, Result{"peers", OK, "none: a single-validator chain with no peers configured"})
	}
	if len(connected) == 0 {
		out = append(out, Result{"peers", Fail, "no peers connected"})
	} else {
		out = append(out, Result{"peers", OK, fmt.Sprintf("%d connected: %s", len(connected), strings.Join(names, ", "))})
	}
	for _, pp := range persistent {
		id, addr, _ := strings.Cut(pp, "@")
		if !have[strings.ToLower(id)] {
			out = append(out, Result{"peer " + shortID(id), Fail, fmt.Sprintf("persistent peer %s at %s is not connected (down or unreachable)", id, addr)})
		}
	}
	switch lag := top - height; {
	case top == 0:
		out = append(out, Result{"height lag", Warn, fmt.Sprintf("at height %d; no peer's height known", height)})
	case lag > MaxLag:
		status := Fail
		d := fmt.Sprintf("height %d is %d blocks behind the highest peer (%d)", height, lag, top)
		if catchingUp {
			d += "; catching up"
		}
		out = append(out, Result{"height lag", status, d})
	default:
		out = append(out, Result{"height lag", OK, fmt.Sprintf("height %d, highest peer %d", height, top)})
	}
	return out
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

func checkNode(ctx context.Context, c *cmtcfg.Config, url string, o Options) []Result {
	cl, err := rpchttp.NewWithTimeout(url, "/websocket", uint(o.Timeout/time.Second))
	if err != nil {
		return []Result{{"node", Fail, err.Error()}}
	}
	st, err := cl.Status(ctx)
	if err != nil {
		return []Result{{"node", Fail, fmt.Sprintf("no answer at %s (is the node running?): %v", url, err)}}
	}
	si := st.SyncInfo
	state := "in sync"
	if si.CatchingUp {
		state = "catching up"
	}
	out := []Result{{"node", OK, fmt.Sprintf("%s answers: height %d, %s, node %s", url, si.LatestBlockHeight, state, st.NodeInfo.ID())}}
	out = append(out, CheckClock(o.Now(), si.LatestBlockTime, si.CatchingUp))
	if r, ok := checkUpgrade(ctx, url); ok {
		out = append(out, r)
	}

	ni, err := cl.NetInfo(ctx)
	if err != nil {
		return append(out, Result{"peers", Fail, "net_info: " + err.Error()})
	}
	heights := map[string]int64{}
	if dump, err := cl.DumpConsensusState(ctx); err == nil {
		for _, p := range dump.Peers {
			id, _, _ := strings.Cut(p.NodeAddress, "@")
			heights[strings.ToLower(id)] = peerHeight(p.PeerState)
		}
	}
	var peers []PeerView
	for _, p := range ni.Peers {
		id := string(p.NodeInfo.ID())
		// A peer's consensus height is the height it works on, one above
		// its last block.
		h := heights[strings.ToLower(id)]
		if h > 0 {
			h--
		}
		peers = append(peers, PeerView{ID: id, Moniker: p.NodeInfo.Moniker, Addr: p.RemoteIP, Height: h})
	}
	var persistent []string
	for _, pp := range strings.Split(c.P2P.PersistentPeers, ",") {
		if pp = strings.TrimSpace(pp); pp != "" {
			persistent = append(persistent, pp)
		}
	}
	// A peer's consensus height is the height it works on: one above its
	// last block, as the node's own next height is.
	expect := len(persistent) > 0 || c.P2P.Seeds != "" || c.P2P.LibP2PEnabled()
	if doc, err := cmttypes.GenesisDocFromFile(c.GenesisFile()); err == nil && len(doc.Validators) > 1 {
		expect = true
	}
	return append(out, CheckPeers(si.LatestBlockHeight+1, si.CatchingUp, peers, persistent, expect)...)
}

// peerHeight reads round_state.height from a peer state dump.
func peerHeight(raw json.RawMessage) int64 {
	var ps struct {
		RoundState struct {
			Height string `json:"height"`
		} `json:"round_state"`
	}
	if json.Unmarshal(raw, &ps) != nil {
		return 0
	}
	h, _ := strconv.ParseInt(ps.RoundState.Height, 10, 64)
	return h
}

// CheckUpgrade judges a scheduled upgrade against the upgrades this binary
// knows: one it does not know warns, so the operator installs the release
// before the chain reaches it.
func CheckUpgrade(plan *chainpb.UpgradePlan, height int64, known []string) Result {
	if plan == nil {
		return Result{"upgrade", OK, "none scheduled"}
	}
	left := plan.Height - height - 1
	for _, k := range known {
		if k == plan.Name {
			return Result{"upgrade", OK, fmt.Sprintf("%q at height %d (in %d blocks): this binary knows it", plan.Name, plan.Height, left)}
		}
	}
	return Result{"upgrade", Warn, fmt.Sprintf("%q at height %d (in %d blocks): this binary does not know it; install the release that does before then", plan.Name, plan.Height, left)}
}

// checkUpgrade reads the scheduled upgrade from the node; ok is false when
// it cannot (an older node, another app).
func checkUpgrade(ctx context.Context, url string) (Result, bool) {
	c, err := client.New(url)
	if err != nil {
		return Result{}, false
	}
	b, h, err := c.Get(ctx, chain.UpgradePlanKey())
	if err != nil {
		return Result{}, false
	}
	var plan *chainpb.UpgradePlan
	if b != nil {
		plan = new(chainpb.UpgradePlan)
		if proto.Unmarshal(b, plan) != nil {
			return Result{"upgrade", Warn, "the scheduled upgrade does not decode"}, true
		}
	}
	return CheckUpgrade(plan, h, app.KnownUpgrades()), true
}
