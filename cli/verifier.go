package cli

import (
	"encoding/hex"
	"fmt"
	"io"
	"time"

	"github.com/cometbft/cometbft/libs/log"
	"github.com/spf13/cobra"

	"github.com/idledger/idledger/verifier"
)

// newVerifierCommand is "idledger verifier": run a light verifier of the
// feed, check a status from its store.
func newVerifierCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "verifier",
		Short: "A light verifier of the chain's feed, answering status checks offline",
		Long: `A verifier follows the chain's feed (go-libp2p gossipsub) from a checkpoint
you trust, verifies every block with CometBFT's light-client rules and
every status record against its Merkle proof, and keeps what it verified in
a directory. Status checks (verifier check, verify-presentation
--verifier-dir) read that directory without a network. See docs/verifier.md.`,
	}
	cmd.AddCommand(newVerifierRunCommand(), newVerifierCheckCommand())
	return cmd
}

func newVerifierRunCommand() *cobra.Command {
	var (
		dir, trustHash, chainID string
		peers, listen, rpcs     []string
		trustHeight             int64
		trustPeriod             time.Duration
		logLevel                string
	)
	cmd := &cobra.Command{
		Use:   "run --dir D --peer MULTIADDR... [--trust-height H --trust-hash X | --rpc URL,URL] [--rpc URL]",
		Short: "Follow the feed and keep a verified store",
		Long: `Run connects to the feed nodes given with --peer (multiaddrs ending in
/p2p/PEER-ID, as the node logs them), verifies the checkpoint block
(--trust-height and --trust-hash, needed for a new directory: take them
from a source you trust), then every later block: +2/3 of the validators
signed it, its validator set follows from the trusted one, and every status
record it carries matches its ICS23 proof and the block's app hash. Anything
else is refused and logged. After a pause it fills the gap from the peers
(sync protocol) or from the nodes' RPC (--rpc).

Every block commits the list of status records it changed; the verifier
moves past a block only with a proof for each of them. A peer that
withholds one (or forges, reorders or replays) is refused, scored down and
disconnected, and the verifier stays at the block before, asking its other
peers and --rpc until one completes it (verifier check shows how old its
knowledge is meanwhile).

Checkpoint: --trust-height and --trust-hash from a source you trust, or,
with no checkpoint flags and two or more --rpc servers (--rpc URL,URL), the
recent block those independent servers agree on (they must all agree).
Start from the chain's first block (--trust-height 1) for a store that
knows every subject; a later checkpoint knows only what changed after it,
and check answers "unknown" for the rest. The checkpoint must be younger than
--trust-period, and so must the last verified block when the verifier
restarts.

Examples:

  idledger verifier run --dir gate-store --trust-height 1 --trust-hash 5E1F...A0 \
      --peer /ip4/127.0.0.1/tcp/26690/p2p/12D3KooW...
  idledger verifier run --dir gate-store --rpc http://node-a:26657,http://node-b:26657 \
      --peer /ip4/127.0.0.1/tcp/26690/p2p/12D3KooW...`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags(cmd, "dir"); err != nil {
				return err
			}
			if len(peers) == 0 && len(rpcs) == 0 {
				return usagef("give at least one --peer or --rpc")
			}
			var hash []byte
			if cmd.Flags().Changed("trust-height") || cmd.Flags().Changed("trust-hash") {
				h, err := hex.DecodeString(trustHash)
				if err != nil || len(h) != 32 || trustHeight <= 0 {
					return usagef("--trust-height and --trust-hash: want a positive height and the block's 64-hex-digit hash")
				}
				hash = h
			}
			logger, err := cliLogger(cmd.ErrOrStderr(), logLevel)
			if err != nil {
				return err
			}
			p := verifier.DefaultParams()
			p.TrustingPeriod = trustPeriod
			v, err := verifier.New(cmd.Context(), verifier.Options{
				Dir: dir, Peers: peers, TrustHeight: trustHeight, TrustHash: hash, RPCs: rpcs, ChainID: chainID,
				Params: p, ListenAddrs: listen, Logger: logger,
			})
			if err != nil {
				return err
			}
			return v.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "dir", "", "the verifier's store directory (required)")
	f.StringArrayVar(&peers, "peer", nil, "a feed node's multiaddr, ending in /p2p/ID (repeatable)")
	f.Int64Var(&trustHeight, "trust-height", 0, "the checkpoint block's height (a new store)")
	f.StringVar(&trustHash, "trust-hash", "", "the checkpoint block's hash, hex (a new store)")
	f.StringSliceVar(&rpcs, "rpc", nil, "nodes' RPC URLs to fill gaps from, comma-separated or repeated; two or more also give a new store its checkpoint")
	f.StringVar(&chainID, "chain-id", "", "the chain to follow (default: the store's, or what the peers serve)")
	f.DurationVar(&trustPeriod, "trust-period", verifier.DefaultParams().TrustingPeriod, "how long a verified block stays a valid starting point")
	f.StringArrayVar(&listen, "listen", nil, "libp2p listen multiaddr (default /ip4/127.0.0.1/tcp/0)")
	f.StringVar(&logLevel, "log-level", "info", "log level: debug, info or error")
	return cmd
}

func cliLogger(w io.Writer, level string) (log.Logger, error) {
	l := log.NewTMLogger(log.NewSyncWriter(w))
	opt, err := log.AllowLevel(level)
	if err != nil {
		return nil, usagef("--log-level: %v", err)
	}
	return log.NewFilter(l, opt), nil
}

type verifierCheckView struct {
	State       string    `json:"state"`
	Subject     string    `json:"subject"`
	ClaimType   string    `json:"claim_type"`
	ChainID     string    `json:"chain_id"`
	KnownHeight int64     `json:"known_height"`
	KnownTime   time.Time `json:"known_time"`
	Age         string    `json:"age"`
	AgeSeconds  int64     `json:"age_seconds"`
	Complete    bool      `json:"complete"`
	// VerifiedThrough is the last block all of whose status changes the
	// store holds; HeaderTime (= known_time) proved them, Age ago.
	VerifiedThrough int64           `json:"verified_through"`
	HeaderTime      time.Time       `json:"header_time"`
	Stale           bool            `json:"stale"`
	MaxStaleness    string          `json:"max_staleness,omitempty"`
	RecordHeight    int64           `json:"record_height,omitempty"`
	Attestation     *entryView      `json:"attestation,omitempty"`
	Revocation      *revocationView `json:"revocation,omitempty"`
}

func newVerifierCheckCommand() *cobra.Command {
	var (
		dir, certFile, subjectHex, claimType string
		maxStaleness                         time.Duration
		output                               *output
	)
	cmd := &cobra.Command{
		Use:   "check --dir D (--cert F | --subject HEX) --claim-type T [--max-staleness D] [-o json]",
		Short: "Answer a status from the verifier's store, without a network",
		Long: `Check answers valid, revoked, expired, none or unknown for a subject (the
identity commitment of a certificate: --cert computes it, --subject gives it
in hex) and a claim type, from the store of idledger verifier run (which may
be running). It says up to which block the store knows the chain and how old
that block is: a revocation after it is not known yet.

"unknown" means the store started from a checkpoint after the chain's first
blocks and has no record of the subject: it may have been attested before;
or, with --max-staleness D, that the store's knowledge is older than D (its
peers are gone or withhold a block): then it is never "valid", whatever the
record says. verified_through is the last block all of whose changes the
store holds; header_time and age say how fresh that is.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFlags(cmd, output, "dir", "claim-type"); err != nil {
				return err
			}
			subject, err := subjectFrom(certFile, subjectHex)
			if err != nil {
				return err
			}
			s, err := verifier.ReadStore(dir)
			if err != nil {
				return err
			}
			a, err := verifier.CheckFresh(s, subject, claimType, time.Now(), maxStaleness)
			if err != nil {
				return err
			}
			v := verifierCheckView{
				State: string(a.State), Subject: hex.EncodeToString(subject), ClaimType: claimType, ChainID: a.ChainID,
				KnownHeight: a.KnownHeight, KnownTime: a.KnownTime, Age: a.Age.Round(time.Second).String(), AgeSeconds: int64(a.Age.Seconds()),
				Complete: a.Complete, RecordHeight: a.RecordHeight,
				VerifiedThrough: a.VerifiedThrough, HeaderTime: a.KnownTime, Stale: a.Stale,
			}
			if maxStaleness > 0 {
				v.MaxStaleness = maxStaleness.String()
			}
			v.Attestation = viewEntry(a.Entry)
			v.Revocation = revView(a.Revocation)
			return output.print(cmd.OutOrStdout(), v, func(w io.Writer) {
				printStatusHead(w, v.State, v.Subject, v.ClaimType, v.Attestation, v.Revocation)
				fmt.Fprintf(w, "  known:       chain %s through block %d (proven by header %d of %s, %s old)\n", v.ChainID, v.VerifiedThrough, v.KnownHeight, v.KnownTime.Format(time.RFC3339), v.Age)
				if v.Stale {
					fmt.Fprintf(w, "  stale:       older than --max-staleness %s: the answer is unknown\n", v.MaxStaleness)
				}
				if !v.Complete {
					fmt.Fprintf(w, "  note:        the store started at a checkpoint; older records are unknown to it\n")
				}
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "dir", "", "the verifier's store directory (required)")
	f.StringVar(&certFile, "cert", "", "the holder's certificate (PEM or DER)")
	f.StringVar(&subjectHex, "subject", "", "the holder's identity commitment, 64 hex digits")
	f.StringVar(&claimType, "claim-type", "", "claim type (required)")
	f.DurationVar(&maxStaleness, "max-staleness", 0, "answer unknown, never valid, when the store's knowledge is older than this (0: no limit)")
	output = addOutputFlag(cmd)
	return cmd
}
