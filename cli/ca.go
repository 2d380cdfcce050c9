package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/idledger/idledger/jpki"
	"github.com/idledger/idledger/testca"
)

func newCACommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ca",
		Short: "A test JPKI certification authority for testnets",
		Long: `The ca commands run a test JPKI CA in a directory: a root CA shaped like the
J-LIS user-authentication root (with TEST in its names), and card holders
with the JPKI user-authentication profile (RSA-2048, sha256WithRSA, C=JP,
CN=NAME, the JPKI auth policy). Never use it outside tests and testnets.

  DIR/ca.crt, DIR/ca.key                    the CA
  DIR/holders/NAME.crt, DIR/holders/NAME.key a holder (use with --signer soft:KEY,CERT)`,
	}
	cmd.AddCommand(newCAInitCommand(), newCAIssueCommand(), newCARevokeCommand(), newCACRLCommand())
	return cmd
}

type caInitResult struct {
	Dir         string    `json:"dir"`
	Certificate string    `json:"certificate"`
	Kind        string    `json:"kind"`
	Subject     string    `json:"subject"`
	SHA256      string    `json:"sha256"`
	NotAfter    time.Time `json:"not_after"`
}

func newCAInitCommand() *cobra.Command {
	var (
		dir, kind string
		output    *output
	)
	cmd := &cobra.Command{
		Use:   "init --dir DIR [--kind auth|sign]",
		Short: "Make a test JPKI CA",
		Long: `Init makes a test JPKI root CA in DIR (created if needed; refused if it
already holds a CA). Give DIR/ca.crt to idledger init --anchor.

--kind sign makes a digital-signature CA instead, for tests of anchors of
the wrong kind.

Example:

  idledger ca init --dir ca`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFlags(cmd, output, "dir"); err != nil {
				return err
			}
			k, err := jpki.ParseKind(kind)
			if err != nil {
				return usageError{err}
			}
			ca, err := testca.Init(dir, testca.InitOptions{Kind: k})
			if err != nil {
				return err
			}
			fp := sha256.Sum256(ca.CertDER)
			res := caInitResult{
				Dir:         dir,
				Certificate: filepath.Join(dir, testca.CertFile),
				Kind:        ca.Kind().String(),
				Subject:     ca.Cert.Subject.String(),
				SHA256:      hex.EncodeToString(fp[:]),
				NotAfter:    ca.Cert.NotAfter.UTC(),
			}
			return output.print(cmd.OutOrStdout(), res, func(w io.Writer) {
				fmt.Fprintf(w, "Test JPKI %s CA in %s\n", res.Kind, res.Dir)
				fmt.Fprintf(w, "  certificate: %s\n", res.Certificate)
				fmt.Fprintf(w, "  subject:     %s\n", res.Subject)
				fmt.Fprintf(w, "  sha256:      %s\n", res.SHA256)
				fmt.Fprintf(w, "  not after:   %s\n", res.NotAfter.Format(time.RFC3339))
			})
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "CA directory (required)")
	cmd.Flags().StringVar(&kind, "kind", "auth", "CA kind: auth (user authentication) or sign (digital signature)")
	output = addOutputFlag(cmd)
	return cmd
}

type caIssueResult struct {
	Name        string    `json:"name"`
	Certificate string    `json:"certificate"`
	Key         string    `json:"key"`
	Signer      string    `json:"signer"`
	Subject     string    `json:"subject"` // identity commitment, hex
	Serial      string    `json:"serial"`
	Profile     string    `json:"profile"`
	NotBefore   time.Time `json:"not_before"`
	NotAfter    time.Time `json:"not_after"`
}

func newCAIssueCommand() *cobra.Command {
	var (
		dir, name        string
		expired, signing bool
		sha1             bool
		keyBits          int
		validFor         time.Duration
		output           *output
	)
	cmd := &cobra.Command{
		Use:   "issue --dir DIR --name NAME [flags]",
		Short: "Issue a test card holder's certificate and key",
		Long: `Issue makes a test card holder: an RSA key and a certificate with the JPKI
user-authentication profile, written to DIR/holders/NAME.key and .crt. It
prints the holder's identity commitment (the subject the ledger knows).

Flags make the awkward certificates that tests need; the chain refuses each
with its own code:

  --expired          validity ended yesterday            (code 22)
  --signing-profile  a digital-signature certificate with (fake) personal
                     data, which the chain refuses       (code 26)
  --key-bits 1024    a weak RSA key                      (code 28)
  --sha1             signed with sha1WithRSA             (code 29)

Examples:

  idledger ca issue --dir ca --name holder1
  idledger ca issue --dir ca --name old-card --expired`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFlags(cmd, output, "dir", "name"); err != nil {
				return err
			}
			ca, err := testca.Load(dir)
			if err != nil {
				return err
			}
			now := time.Now()
			opts := testca.IssueOptions{Name: name, Now: now, KeyBits: keyBits, SHA1: sha1, Profile: jpki.KindAuth}
			if validFor > 0 {
				opts.NotAfter = now.Add(validFor)
			}
			if expired {
				opts.NotBefore, opts.NotAfter = now.Add(-48*time.Hour), now.Add(-24*time.Hour)
			}
			if signing {
				opts.Profile = jpki.KindSign
			}
			h, err := ca.Issue(opts)
			if err != nil {
				return err
			}
			s := jpki.Commitment(h.Cert.RawIssuer, h.Cert.SerialNumber)
			res := caIssueResult{
				Name:        h.Name,
				Certificate: h.CertPath,
				Key:         h.KeyPath,
				Signer:      "soft:" + h.KeyPath + "," + h.CertPath,
				Subject:     hex.EncodeToString(s[:]),
				Serial:      h.Cert.SerialNumber.Text(16),
				Profile:     opts.Profile.String(),
				NotBefore:   h.Cert.NotBefore.UTC(),
				NotAfter:    h.Cert.NotAfter.UTC(),
			}
			return output.print(cmd.OutOrStdout(), res, func(w io.Writer) {
				fmt.Fprintf(w, "Issued test holder %s (%s profile)\n", res.Name, res.Profile)
				fmt.Fprintf(w, "  certificate: %s\n", res.Certificate)
				fmt.Fprintf(w, "  key:         %s\n", res.Key)
				fmt.Fprintf(w, "  subject:     %s\n", res.Subject)
				fmt.Fprintf(w, "  valid:       %s to %s\n", res.NotBefore.Format(time.RFC3339), res.NotAfter.Format(time.RFC3339))
				fmt.Fprintf(w, "  signer:      --signer %s\n", res.Signer)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "dir", "", "CA directory (required)")
	f.StringVar(&name, "name", "", "holder name: the certificate CN and file name (required)")
	f.BoolVar(&expired, "expired", false, "issue a certificate that expired yesterday")
	f.BoolVar(&signing, "signing-profile", false, "issue a digital-signature certificate with fake personal data")
	f.IntVar(&keyBits, "key-bits", 2048, "RSA key size")
	f.BoolVar(&sha1, "sha1", false, "sign the certificate with sha1WithRSA")
	f.DurationVar(&validFor, "valid-for", 0, "validity from now (default five years)")
	output = addOutputFlag(cmd)
	return cmd
}
