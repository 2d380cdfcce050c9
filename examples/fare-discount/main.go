// Command fare-discount is the automatic fare discount example: a transit
// gate checks a holder's "fare-eligibility" attestation (student, senior,
// ...) and applies the discount, from its verifier store, so that it keeps
// working offline. It
//
//  1. (while online, with --rpc) syncs its verifier store;
//  2. has the holder's card or phone sign a presentation bound to the
//     gate's fresh challenge, verifies it against the store, reads the
//     eligibility category from the attestation's claim hash (the SHA-256
//     of "student", "senior", ...), and charges the discounted fare;
//  3. says how stale its answer is; past --max-staleness it charges the
//     full fare and says why (it never grants a discount it cannot back).
package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/idledger/idledger/examples/rpkit"
	"github.com/idledger/idledger/presentation"
)

// Discounts by eligibility category, in percent.
var Discounts = map[string]int{"student": 50, "senior": 30, "disability": 50, "child": 50}

func main() { rpkit.Main("fare-discount", 5*time.Minute, run) }

// category finds the eligibility category whose SHA-256 is claimHash.
func category(claimHash []byte) (string, int) {
	for c, pct := range Discounts {
		h := sha256.Sum256([]byte(c))
		if string(h[:]) == string(claimHash) {
			return c, pct
		}
	}
	return "", 0
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("fare-discount", flag.ContinueOnError)
	sf := rpkit.AddStoreFlags(fs, "fare-store")
	signerSpec := fs.String("signer", "", "the holder's card or phone: soft:KEY,CERT or plugin:NAME (required)")
	audience := fs.String("audience", "transit-gate-1", "this gate's name, which the holder signs")
	fare := fs.Int("fare", 200, "the full fare, in yen")
	maxStale := fs.Duration("max-staleness", time.Hour, "charge the full fare when the store's latest verified block is older than this")
	accept := fs.String("accept-attester", "", "comma-separated attesters whose eligibility checks the operator accepts (default: any the chain allows)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *signerSpec == "" {
		return errors.New("--signer is required")
	}
	// Online (with --rpc): sync the store. From here on, the store only.
	s, chainID, err := sf.SyncAndOpen(ctx, stdout)
	if err != nil {
		return err
	}
	defer s.Close()
	gate := &rpkit.Gate{Store: s, Audience: *audience, ClaimType: "fare-eligibility", MaxStaleness: *maxStale,
		ChallengeFile: filepath.Join(*sf.Dir, "gate-challenges")}
	if *accept != "" {
		gate.Accept = strings.Split(*accept, ",")
	}
	// The gate's fresh challenge; the holder's card or phone signs it.
	raw, challenge, err := rpkit.Present(ctx, *signerSpec, chainID, *audience)
	if err != nil {
		return err
	}
	res, ans, err := gate.Admit(ctx, raw, challenge)
	var pe *presentation.Error
	switch {
	case err == nil:
		c, pct := category(res.Status.Entry.ClaimHash)
		if c == "" {
			fmt.Fprintf(stdout, "fare %d yen: the eligibility attested is no category this gate discounts; answer %s\n", *fare, rpkit.Staleness(ans))
			return nil
		}
		fmt.Fprintf(stdout, "fare %d yen: %s discount %d%% (attested by %s); answer %s\n", *fare*(100-pct)/100, c, pct, res.Status.Entry.Attester, rpkit.Staleness(ans))
		return nil
	case errors.As(err, &pe) && pe.Reason == presentation.ReasonStatusStale:
		fmt.Fprintf(stdout, "fare %d yen: no discount: the gate's knowledge is too old (%v)\n", *fare, err)
		return nil
	case errors.As(err, &pe):
		fmt.Fprintf(stdout, "fare %d yen: no discount: %s\n", *fare, pe.Reason)
		return nil
	case errors.Is(err, rpkit.ErrAttesterNotTrusted):
		fmt.Fprintf(stdout, "fare %d yen: no discount: %v\n", *fare, err)
		return nil
	default:
		return err
	}
}
