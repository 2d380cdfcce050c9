package cli

import (
	"context"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/client"
	"github.com/idledger/idledger/jpki"
	"github.com/idledger/idledger/memberkey"
)

// memberFlags are the flags of a command a member signs.
type memberFlags struct {
	node, keyFile, id, chainID string
	timeout                    time.Duration
	offlineFlags
}

func (m *memberFlags) add(cmd *cobra.Command, persistent bool, what string) {
	f := cmd.Flags()
	if persistent {
		f = cmd.PersistentFlags()
	}
	f.StringVar(&m.node, "node", client.DefaultNodeURL, "node RPC URL")
	f.StringVar(&m.keyFile, "member-key", "", what+" member's key file, PEM")
	f.StringVar(&m.id, "member", "", what+" member's ID (default: the member registered with --member-key's key)")
	f.StringVar(&m.chainID, "chain-id", "", "sign for this chain ID (default: the node's)")
	f.DurationVar(&m.timeout, "timeout", time.Minute, "how long to wait for each commit")
	m.offlineFlags.add(f)
}

// client returns the client the command submits through (see
// offlineFlags.newClient): every member-signed command gets
// --generate-only from here.
func (m *memberFlags) client(cmd *cobra.Command, memberSigned bool, opts ...client.Option) (*client.Client, error) {
	return m.offlineFlags.newClient(cmd, m.node, m.chainID, m.id, memberSigned, opts...)
}

// auth reads the member key.
func (m *memberFlags) auth() (*client.MemberAuth, error) {
	if m.keyFile == "" {
		return nil, usagef("--member-key is required")
	}
	key, err := memberkey.Read(m.keyFile)
	if err != nil {
		return nil, err
	}
	return &client.MemberAuth{ID: m.id, Key: key, ChainID: m.chainID}, nil
}

func newRevokeCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "revoke",
		Short: "Revoke an attestation, or every attestation of revoked certificates",
		Long: `The revoke commands record revocations on the ledger.

revoke attestation revokes one attestation: signed by the member that made
it, by any member with the revoker role, or by the card holder.

revoke subjects reports revoked certificates by their identity commitments
(a revoker's job): every attestation of those holders then reads as revoked
and new attestations with those certificates are refused. With --crl the
commitments are computed here from a CRL whose signature is checked against
the issuing CA; only the commitments go to the chain, never the CRL.

Both take --generate-only (with --chain-id, and --member and --sequence
when a member signs): the signed transaction is written to stdout for
idledger broadcast. revoke subjects then makes a single transaction and
needs --effective.`,
	}
	cmd.AddCommand(newRevokeAttestationCommand(), newRevokeSubjectsCommand())
	return cmd
}

type revokeAttestationResult struct {
	ID       string `json:"id"`
	Height   int64  `json:"height"`
	TxHash   string `json:"tx_hash"`
	By       string `json:"by"`
	Sequence uint64 `json:"sequence,omitempty"`
}

func newRevokeAttestationCommand() *cobra.Command {
	var (
		m          memberFlags
		reason     string
		signerSpec string
		output     *output
	)
	cmd := &cobra.Command{
		Use:   "attestation ID --reason R (--member-key FILE [--member ID] | --signer SPEC)",
		Short: "Revoke one attestation",
		Long: `Revoke attestation revokes the attestation with the given ID (24 hex digits,
as idledger attest prints it). From the next block its status reads
revoked, with the reason, the revoker and the height.

Who signs:

  --member-key FILE   the member that made the attestation, or any member
                      with the revoker role (--member names it; by default
                      the member whose registered key this is)
  --signer SPEC       the card holder: soft:KEYFILE,CERTFILE or plugin:NAME.
                      The transaction carries the holder's user-authentication
                      certificate, which must have the attestation's identity
                      commitment. Before the holder's signer is opened,
                      the node is asked whether the attestation exists
                      and is not revoked yet, and which chain it serves
                      (offline, with --generate-only, that waits for the
                      broadcast).

A refusal prints the chain's reason and code: unknown attestation (code 50),
already revoked (51), a signer with no right to revoke it (52).

Examples:

  idledger revoke attestation 000000000000000700000000 --reason "withdrawn by the bank" \
      --member-key node/config/member_key.pem
  idledger revoke attestation 000000000000000700000000 --reason "lost my phone" \
      --signer soft:ca/holders/holder1.key,ca/holders/holder1.crt`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := output.check(); err != nil {
				return err
			}
			id, err := chain.ParseAttestationID(args[0])
			if err != nil {
				return usagef("%q: %v", args[0], err)
			}
			if err := requireFlags(cmd, "reason"); err != nil {
				return err
			}
			if len(reason) > chain.MaxReasonLen {
				return usagef("--reason: at most %d bytes", chain.MaxReasonLen)
			}
			keySet, signerSet := cmd.Flags().Changed("member-key"), cmd.Flags().Changed("signer")
			if keySet == signerSet {
				return usagef("give --member-key (a member revokes) or --signer (the holder revokes), not both")
			}
			if signerSet && cmd.Flags().Changed("member") {
				return usagef("--member applies only with --member-key")
			}
			req := client.RevokeAttestationRequest{ID: id, Reason: reason, ChainID: m.chainID}
			if keySet {
				if req.Member, err = m.auth(); err != nil {
					return err
				}
			}
			c, err := m.client(cmd, keySet)
			if err != nil {
				return err
			}
			if signerSet {
				if !c.Generating() {
					// Before the signer is opened: see cli/precheck.go.
					if req.ChainID, err = precheckRevokeAttestation(cmd.Context(), c, m.chainID, id); err != nil {
						return err
					}
				}
				s, closeSigner, err := openSigner(signerSpec)
				if err != nil {
					return err
				}
				defer closeSigner()
				req.Subject = s
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), m.timeout)
			defer cancel()
			r, err := c.RevokeAttestation(ctx, req)
			if err != nil {
				return err
			}
			res := revokeAttestationResult{
				ID: hex.EncodeToString(r.ID), Height: r.Height, TxHash: fmt.Sprintf("%X", r.TxHash), By: r.By, Sequence: r.Sequence,
			}
			return output.print(cmd.OutOrStdout(), res, func(w io.Writer) {
				fmt.Fprintf(w, "attestation %s revoked at height %d\n", res.ID, res.Height)
				if res.By == chain.BySubject {
					fmt.Fprintf(w, "  by:     the subject (JPKI signature)\n")
				} else {
					fmt.Fprintf(w, "  by:     %s (sequence %d)\n", res.By, res.Sequence)
				}
				fmt.Fprintf(w, "  reason: %s\n", reason)
				fmt.Fprintf(w, "  tx:     %s\n", res.TxHash)
			})
		},
	}
	m.add(cmd, false, "the revoking")
	f := cmd.Flags()
	f.StringVar(&reason, "reason", "", "why, in plain words (required; it is public)")
	f.StringVar(&signerSpec, "signer", "", "the holder's JPKI key, when the holder revokes: soft:KEYFILE,CERTFILE or plugin:NAME")
	output = addOutputFlag(cmd)
	return cmd
}

// stateSuffix is appended to a CRL's path to name its default progress
// file.
const stateSuffix = ".progress.json"

func newRevokeSubjectsCommand() *cobra.Command {
	var (
		m                       memberFlags
		certFiles, subjectHexes []string
		crlFile, issuerFile     string
		reason, effective       string
		stateFile               string
		quiet                   bool
		output                  *output
	)
	cmd := &cobra.Command{
		Use:   "subjects (--cert FILE... --subject HEX... | --crl CRL --issuer CA.pem) --reason R --member-key FILE [flags]",
		Short: "Report revoked certificates by identity commitment",
		Long: `Revoke subjects records that certificates were revoked, by their identity
commitments (SHA-256 over issuer and serial number; nobody can recover the
certificate or the person from one). Every attestation of those holders
then reads as revoked, and new attestations with those certificates are
refused (code 40). The signing member needs the revoker role.

Give the certificates (--cert, repeatable) and/or their commitments
(--subject, repeatable, 64 hex digits), or a CRL:

  --crl CRL --issuer CA.pem   the CRL (DER or PEM) is checked against the
                              issuing CA's certificate, and each listed
                              serial number's commitment is computed here.
                              Only commitments, the reason and effective
                              times are submitted: J-LIS revocation data may
                              be used only by the party that received it,
                              and the CRL never leaves this machine.

The commitments are sorted and sent in as many transactions as the chain's
max_revocations_per_tx needs, one after the other, each waiting for its
commit; progress goes to stderr (--quiet: none). Each committed batch is
recorded in a progress file (--state; with --crl the default is
CRL.progress.json next to the CRL), so an interrupted run resumes: running
the same command again skips the recorded batches. A batch that committed
just before an interruption may be sent again; the chain skips commitments
it has already revoked and reports them as already revoked.

The effective time is --effective, or else the latest block's time (the
time of the report). It is never read from the CRL: nothing of J-LIS's
revocation data but the commitments computed from it leaves this machine.

Examples:

  idledger revoke subjects --crl jlis-auth.crl --issuer jlis-auth-ca.pem \
      --reason "J-LIS CRL 2026-05-01" --member-key revoker_key.pem
  idledger revoke subjects --cert ca/holders/holder1.crt --reason "card reported lost" \
      --member-key node/config/member_key.pem`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFlags(cmd, output, "reason", "member-key"); err != nil {
				return err
			}
			if len(reason) > chain.MaxReasonLen {
				return usagef("--reason: at most %d bytes", chain.MaxReasonLen)
			}
			listed := len(certFiles) > 0 || len(subjectHexes) > 0
			if listed == (crlFile != "") {
				return usagef("give --cert and/or --subject, or --crl with --issuer")
			}
			if (crlFile == "") != (issuerFile == "") {
				return usagef("--crl and --issuer go together")
			}
			var eff time.Time
			if effective != "" {
				var err error
				if eff, err = time.Parse(time.RFC3339, effective); err != nil {
					return usagef("--effective %q: want an RFC 3339 time such as 2026-05-01T00:00:00+09:00", effective)
				}
			}
			auth, err := m.auth()
			if err != nil {
				return err
			}
			subjects, err := revokedSubjects(crlFile, issuerFile, certFiles, subjectHexes)
			if err != nil {
				return err
			}
			if crlFile != "" && stateFile == "" {
				stateFile = crlFile + stateSuffix
			}
			c, err := m.client(cmd, true, client.WithCommitTimeout(m.timeout))
			if err != nil {
				return err
			}
			if c.Generating() {
				return generateRevokeSubjects(cmd, c, *auth, subjects, reason, eff)
			}
			res, err := c.RevokeSubjectsBatched(cmd.Context(), client.BatchedRevocation{
				Auth: *auth, Subjects: subjects, Reason: reason, Effective: eff, StateFile: stateFile,
				Progress: batchProgress(cmd.ErrOrStderr(), quiet),
			})
			if err != nil {
				if res != nil && stateFile != "" && res.Submitted+res.Skipped > 0 {
					return fmt.Errorf("%w (%d of %d batches committed and recorded in %s; run the command again to resume)",
						err, res.Submitted+res.Skipped, res.Batches, stateFile)
				}
				return err
			}
			return output.print(cmd.OutOrStdout(), res, func(w io.Writer) {
				fmt.Fprintf(w, "%d subjects in %d batches of up to %d: %d submitted, %d skipped (committed earlier)\n",
					res.Subjects, res.Batches, res.BatchSize, res.Submitted, res.Skipped)
				fmt.Fprintf(w, "  revoked now:     %d\n", res.Revoked)
				fmt.Fprintf(w, "  already revoked: %d\n", res.AlreadyRevoked)
				if res.StateFile != "" {
					fmt.Fprintf(w, "  progress file:   %s\n", res.StateFile)
				}
			})
		},
	}
	m.add(cmd, false, "the revoker")
	f := cmd.Flags()
	f.StringArrayVar(&certFiles, "cert", nil, "a revoked certificate, PEM or DER (repeatable)")
	f.StringArrayVar(&subjectHexes, "subject", nil, "a revoked certificate's identity commitment, 64 hex digits (repeatable)")
	f.StringVar(&crlFile, "crl", "", "a CRL, DER or PEM: revoke every certificate it lists")
	f.StringVar(&issuerFile, "issuer", "", "with --crl: the certificate of the CA that signed the CRL, PEM or DER")
	f.StringVar(&reason, "reason", "", "why, in plain words (required; it is public)")
	f.StringVar(&effective, "effective", "", "when the revocations took effect, RFC 3339 (default: see above)")
	f.StringVar(&stateFile, "state", "", "progress file for resuming (default with --crl: CRL"+stateSuffix+")")
	f.BoolVarP(&quiet, "quiet", "q", false, "print no progress")
	output = addOutputFlag(cmd)
	return cmd
}

// revokedSubjects returns the commitments revoke subjects reports: those of
// the CRL's entries (--crl, checked against --issuer), or of the listed
// certificates (--cert) and commitments (--subject).
func revokedSubjects(crlFile, issuerFile string, certFiles, subjectHexes []string) ([]jpki.RevokedSubject, error) {
	if crlFile != "" {
		subjects, err := crlSubjects(crlFile, issuerFile)
		if err != nil {
			return nil, err
		}
		if len(subjects) == 0 {
			return nil, fmt.Errorf("%s lists no revoked certificates", crlFile)
		}
		return subjects, nil
	}
	var subjects []jpki.RevokedSubject
	for _, f := range certFiles {
		s, err := subjectFrom(f, "")
		if err != nil {
			return nil, err
		}
		subjects = append(subjects, jpki.RevokedSubject{Commitment: [32]byte(s)})
	}
	for _, h := range subjectHexes {
		s, err := chain.ParseSubject(h)
		if err != nil {
			return nil, usagef("--subject %q: %v", h, err)
		}
		subjects = append(subjects, jpki.RevokedSubject{Commitment: [32]byte(s)})
	}
	return subjects, nil
}

// batchProgress reports each batch of revoke subjects on w (quiet: not).
func batchProgress(w io.Writer, quiet bool) func(client.BatchProgress) {
	return func(p client.BatchProgress) {
		if quiet {
			return
		}
		if p.Skipped {
			fmt.Fprintf(w, "batch %d/%d: %d commitments, committed earlier at height %d (skipped)\n",
				p.Batch, p.Batches, p.Commitments, p.Record.Height)
			return
		}
		fmt.Fprintf(w, "batch %d/%d: %d commitments committed at height %d: %d revoked, %d already revoked\n",
			p.Batch, p.Batches, p.Commitments, p.Record.Height, p.Record.Revoked, p.Record.AlreadyRevoked)
	}
}

// crlSubjects reads a CRL and its issuer's certificate, checks the CRL's
// signature and returns the commitments of the certificates it lists.
func crlSubjects(crlFile, issuerFile string) ([]jpki.RevokedSubject, error) {
	crl, err := readDERorPEM(crlFile, "X509 CRL")
	if err != nil {
		return nil, err
	}
	der, err := readDERorPEM(issuerFile, "CERTIFICATE")
	if err != nil {
		return nil, err
	}
	issuer, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", issuerFile, err)
	}
	subjects, err := jpki.CRLCommitments(crl, issuer)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", crlFile, err)
	}
	return subjects, nil
}

// readDERorPEM reads a file holding DER, or one PEM block of type typ.
func readDERorPEM(path, typ string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if blk, _ := pem.Decode(b); blk != nil {
		if blk.Type != typ {
			return nil, fmt.Errorf("%s: PEM block is %q, not %s", path, blk.Type, typ)
		}
		return blk.Bytes, nil
	}
	return b, nil
}
