package cli

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	cmtversion "github.com/cometbft/cometbft/version"
	"github.com/spf13/cobra"

	"github.com/idledger/idledger/app"
)

// Version is idledger's version; release builds set it with
// -ldflags "-X github.com/idledger/idledger/cli.Version=v1.2.3".
var Version = ""

type versionInfo struct {
	Version    string `json:"version"`
	App        string `json:"app"`
	Protocol   uint64 `json:"protocol"`
	CometBFT   string `json:"cometbft"`
	Go         string `json:"go"`
	VCSRev     string `json:"vcs_revision,omitempty"`
	VCSTime    string `json:"vcs_time,omitempty"`
	VCSChanged bool   `json:"vcs_modified,omitempty"`
}

func versionOf() versionInfo {
	v := versionInfo{Version: Version, App: app.Version, Protocol: app.AppVersion, CometBFT: cmtversion.TMCoreSemVer, Go: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v.Version = bi.Main.Version
		}
		// CometBFT v0.40.0's own version constant still says 0.39.0; the
		// module version is the truth.
		for _, d := range bi.Deps {
			if d.Path == "github.com/cometbft/cometbft" {
				v.CometBFT = d.Version
				if d.Replace != nil {
					v.CometBFT = d.Replace.Version
				}
			}
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				v.VCSRev = s.Value
			case "vcs.time":
				v.VCSTime = s.Value
			case "vcs.modified":
				v.VCSChanged = s.Value == "true"
			}
		}
	}
	if v.Version == "" {
		v.Version = "devel"
	}
	return v
}

func newVersionCommand() *cobra.Command {
	var output *output
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the versions of idledger, its protocol and CometBFT",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := output.check(); err != nil {
				return err
			}
			v := versionOf()
			return output.print(cmd.OutOrStdout(), v, func(w io.Writer) {
				fmt.Fprintf(w, "idledger %s (app %s, protocol %d, CometBFT %s, %s)\n", v.Version, v.App, v.Protocol, v.CometBFT, v.Go)
				if v.VCSRev != "" {
					mod := ""
					if v.VCSChanged {
						mod = ", modified"
					}
					fmt.Fprintf(w, "built from %s (%s%s)\n", v.VCSRev, v.VCSTime, mod)
				}
			})
		},
	}
	output = addOutputFlag(cmd)
	return cmd
}
