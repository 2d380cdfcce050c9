package cli

import (
	"crypto/x509"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/idledger/idledger/internal/atomicfile"
	"github.com/idledger/idledger/testca"
)

type caRevokeResult struct {
	Name      string    `json:"name"`
	RevokedAt time.Time `json:"revoked_at"`
}

func newCARevokeCommand() *cobra.Command {
	var (
		dir, name, at string
		output        *output
	)
	cmd := &cobra.Command{
		Use:   "revoke --dir DIR --name NAME [--at TIME]",
		Short: "Revoke a test card holder's certificate",
		Long: `Revoke marks a test holder's certificate as revoked in the CA's index, as
J-LIS does when a card is reported lost. The next CRL (idledger ca crl)
lists it. Revoking twice is an error.

Examples:

  idledger ca revoke --dir ca --name holder1
  idledger ca crl --dir ca --out ca/crl.der`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFlags(cmd, output, "dir", "name"); err != nil {
				return err
			}
			var t time.Time
			if at != "" {
				var err error
				if t, err = time.Parse(time.RFC3339, at); err != nil {
					return usagef("--at %q: want an RFC 3339 time such as 2026-05-01T09:00:00+09:00", at)
				}
			}
			if t.IsZero() {
				t = time.Now()
			}
			ca, err := testca.Load(dir)
			if err != nil {
				return err
			}
			if err := ca.Revoke(name, t); err != nil {
				return err
			}
			res := caRevokeResult{Name: name, RevokedAt: t.UTC().Truncate(time.Second)}
			return output.print(cmd.OutOrStdout(), res, func(w io.Writer) {
				fmt.Fprintf(w, "Revoked test holder %s at %s\n", res.Name, res.RevokedAt.Format(time.RFC3339))
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "dir", "", "CA directory (required)")
	f.StringVar(&name, "name", "", "the holder to revoke (required)")
	f.StringVar(&at, "at", "", "revocation time, RFC 3339 (default: now)")
	output = addOutputFlag(cmd)
	return cmd
}

type caCRLResult struct {
	File       string    `json:"file"`
	Number     string    `json:"number"`
	Revoked    int       `json:"revoked"`
	ThisUpdate time.Time `json:"this_update"`
	NextUpdate time.Time `json:"next_update"`
}

func newCACRLCommand() *cobra.Command {
	var (
		dir, out string
		output   *output
	)
	cmd := &cobra.Command{
		Use:   "crl --dir DIR --out FILE",
		Short: "Publish the test CA's CRL",
		Long: `CRL writes a new DER CRL of every certificate the test CA revoked, signed
by the CA and valid for a day, with the next CRL number. A revoker member
turns it into identity commitments with idledger revoke subjects --crl; the
CRL itself never goes on the ledger.

Example:

  idledger ca crl --dir ca --out ca/crl.der
  idledger revoke subjects --crl ca/crl.der --issuer ca/ca.crt --reason "test CRL" \
      --member-key node/config/member_key.pem`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFlags(cmd, output, "dir", "out"); err != nil {
				return err
			}
			ca, err := testca.Load(dir)
			if err != nil {
				return err
			}
			der, err := ca.CRL(time.Now())
			if err != nil {
				return err
			}
			crl, err := x509.ParseRevocationList(der)
			if err != nil {
				return fmt.Errorf("the new CRL does not parse: %w", err)
			}
			if err := writeFileAtomic(out, der, 0o644); err != nil {
				return err
			}
			res := caCRLResult{
				File: out, Number: crl.Number.String(), Revoked: len(crl.RevokedCertificateEntries),
				ThisUpdate: crl.ThisUpdate.UTC(), NextUpdate: crl.NextUpdate.UTC(),
			}
			return output.print(cmd.OutOrStdout(), res, func(w io.Writer) {
				fmt.Fprintf(w, "CRL number %s with %d revoked certificates written to %s\n", res.Number, res.Revoked, res.File)
				fmt.Fprintf(w, "  valid: %s to %s\n", res.ThisUpdate.Format(time.RFC3339), res.NextUpdate.Format(time.RFC3339))
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "dir", "", "CA directory (required)")
	f.StringVar(&out, "out", "", "where to write the DER CRL; replaced if it exists (required)")
	output = addOutputFlag(cmd)
	return cmd
}

// writeFileAtomic replaces path with data through a temporary file in the
// same directory.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	return atomicfile.WriteFile(path, data, perm)
}
