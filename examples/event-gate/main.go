// Command event-gate is the ticket-less entry example: a venue's gate lets
// in holders of an event ticket attested on the chain, with no network at
// the gate. It
//
//  1. (while online, with --rpc) syncs its verifier store: every block
//     verified with the light-client rules, every changed status record
//     with its proof;
//  2. offline: issues a fresh challenge, has the holder's card or phone
//     sign a presentation bound to it and to the gate, and checks it
//     against the store: certificate chain, signature, single use (a
//     replayed presentation is refused), the holder's "ticket" status, that
//     the ticket is the one for this event (--event: its claim hash), and
//     that the store's knowledge is at most --max-staleness old.
//
// With --replay it presents the same presentation a second time, to show
// that the gate refuses it.
package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/idledger/idledger/examples/rpkit"
	"github.com/idledger/idledger/presentation"
)

func main() { rpkit.Main("event-gate", 5*time.Minute, run) }

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("event-gate", flag.ContinueOnError)
	sf := rpkit.AddStoreFlags(fs, "gate-store")
	signerSpec := fs.String("signer", "", "the holder's card or phone: soft:KEY,CERT or plugin:NAME (required)")
	audience := fs.String("audience", "event-gate-1", "this gate's name, which the holder signs")
	event := fs.String("event", "", "the event's ticket reference; the ticket's claim hash must be its SHA-256 (default: any ticket)")
	maxStale := fs.Duration("max-staleness", 10*time.Minute, "refuse when the store's latest verified block is older than this")
	replay := fs.Bool("replay", false, "present the same presentation twice (the second must be refused)")
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
	gate := &rpkit.Gate{Store: s, Audience: *audience, ClaimType: "ticket", MaxStaleness: *maxStale,
		ChallengeFile: filepath.Join(*sf.Dir, "gate-challenges")}

	// The gate's fresh challenge; the holder's card or phone signs it.
	raw, challenge, err := rpkit.Present(ctx, *signerSpec, chainID, *audience)
	if err != nil {
		return err
	}
	admitted := false
	for i := 0; i < 1 || *replay && i < 2; i++ {
		res, ans, err := gate.Admit(ctx, raw, challenge)
		if err == nil && *event != "" {
			want := sha256.Sum256([]byte(*event))
			if string(res.Status.Entry.ClaimHash) != string(want[:]) {
				err = fmt.Errorf("the holder's ticket is not for %q", *event)
			}
		}
		var pe *presentation.Error
		switch {
		case err == nil:
			fmt.Fprintf(stdout, "admit: ticket %x by %s, answer %s\n", res.Status.Entry.AttestationId, res.Status.Entry.Attester, rpkit.Staleness(ans))
			admitted = i == 0
		case errors.As(err, &pe) && pe.Reason == presentation.ReasonReplayed:
			fmt.Fprintf(stdout, "refuse: replayed presentation (%s)\n", pe.Reason)
		case errors.As(err, &pe):
			fmt.Fprintf(stdout, "refuse: %s: %v\n", pe.Reason, err)
		case err.Error() != "" && res != nil:
			fmt.Fprintf(stdout, "refuse: %v\n", err)
		default:
			return err
		}
	}
	if !admitted {
		return errors.New("not admitted")
	}
	return nil
}
