// Command ekyc-bank is the eKYC-reuse example: a bank opening an account
// accepts a "kyc" attestation another member made, instead of redoing the
// identity check. It
//
//  1. issues a fresh challenge and has the holder's card (or phone) sign a
//     presentation bound to it and to the bank's name;
//  2. verifies the presentation: chain, audience, challenge, time, the JPKI
//     certificate chain to the chain's proven trust anchors, the signature,
//     single use, and the holder's "kyc" status, read with a Merkle proof
//     against a light-client-verified header;
//  3. checks the claim-type registry entry proven under the same app hash:
//     "kyc" is registered, not retired, and the attester is allowed for it
//     (and, with --accept-attester, one the bank accepts).
//
// It prints the decision ("open account" or "refuse", with the reason) and
// exits 0 or 1.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/idledger/idledger/client"
	"github.com/idledger/idledger/examples/rpkit"
	"github.com/idledger/idledger/presentation"
)

func main() { rpkit.Main("ekyc-bank", 2*time.Minute, run) }

// Decision is what the bank decided, as -json prints it.
type Decision struct {
	Open        bool   `json:"open_account"`
	Reason      string `json:"reason,omitempty"`
	Subject     string `json:"subject,omitempty"`
	Attester    string `json:"attester,omitempty"`
	Attestation string `json:"attestation,omitempty"`
	Height      int64  `json:"height,omitempty"`
	AppHash     string `json:"app_hash,omitempty"`
	Registry    string `json:"registry,omitempty"`
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("ekyc-bank", flag.ContinueOnError)
	node := fs.String("node", client.DefaultNodeURL, "node RPC URL")
	genesisFile := fs.String("genesis", "", "genesis file to verify from (default: the node's own, with a warning)")
	signerSpec := fs.String("signer", "", "the holder's card: soft:KEY,CERT or plugin:NAME (required)")
	audience := fs.String("audience", "ekyc-bank", "the bank's name, which the holder signs")
	accept := fs.String("accept-attester", "", "comma-separated attesters the bank accepts (default: any the registry allows)")
	asJSON := fs.Bool("json", false, "print the decision as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *signerSpec == "" {
		return errors.New("--signer is required")
	}
	var opts []client.Option
	if *genesisFile != "" {
		doc, err := cmttypes.GenesisDocFromFile(*genesisFile)
		if err != nil {
			return err
		}
		opts = append(opts, client.WithGenesis(doc))
	} else {
		fmt.Fprintln(os.Stderr, "ekyc-bank: warning: verifying from the genesis the node serves; pass --genesis")
	}
	c, err := client.New(*node, opts...)
	if err != nil {
		return err
	}
	chainID, err := c.ChainID(ctx)
	if err != nil {
		return err
	}
	anchors, err := rpkit.ProvenAnchors(ctx, c)
	if err != nil {
		return err
	}

	// 1. The bank's challenge; the holder's card signs it.
	raw, challenge, err := rpkit.Present(ctx, *signerSpec, chainID, *audience)
	if err != nil {
		return err
	}

	// 2. The bank verifies the presentation and the holder's kyc status.
	d := Decision{}
	status := &rpkit.NodeStatus{C: c}
	p, err := presentation.Decode(raw)
	var res *presentation.Result
	if err == nil {
		res, err = presentation.Verify(ctx, p, presentation.VerifyOptions{
			ChainID: chainID, Anchors: anchors, Now: time.Now(), Audience: *audience, Challenge: challenge,
			ClaimType: "kyc", Challenges: presentation.NewMemChallenges(), Status: status,
		})
	}
	// 3. The registry: is the attester entitled to attest kyc?
	if err == nil {
		var accepted []string
		if *accept != "" {
			accepted = strings.Split(*accept, ",")
		}
		err = rpkit.CheckAttester(status.Last.ClaimTypeEntry, res.Status.Entry, accepted)
	}
	if err != nil {
		var pe *presentation.Error
		if !errors.As(err, &pe) && !errors.Is(err, rpkit.ErrAttesterNotTrusted) {
			return err // no answer: never a yes
		}
		d.Reason = err.Error()
		if pe != nil {
			d.Reason = string(pe.Reason) + ": " + err.Error()
		}
	} else {
		st := status.Last
		d = Decision{Open: true, Subject: fmt.Sprintf("%x", res.Subject), Attester: res.Status.Entry.Attester,
			Attestation: fmt.Sprintf("%x", res.Status.Entry.AttestationId), Height: st.Height, AppHash: fmt.Sprintf("%X", st.AppHash),
			Registry: fmt.Sprintf("kyc attesters %s, max validity %s", strings.Join(st.ClaimTypeEntry.Attesters, ","), time.Duration(st.ClaimTypeEntry.MaxValidity)*time.Second)}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(d); err != nil {
			return err
		}
	} else if d.Open {
		fmt.Fprintf(stdout, "open account: eKYC reused\n  holder commitment: %s\n  kyc attested by:   %s (attestation %s)\n  registry:          %s\n  proof:             verified against app hash %s of block %d\n",
			d.Subject, d.Attester, d.Attestation, d.Registry, d.AppHash, d.Height+1)
	} else {
		fmt.Fprintf(stdout, "refuse: %s\n", d.Reason)
	}
	if !d.Open {
		return errors.New("refused")
	}
	return nil
}
