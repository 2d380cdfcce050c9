package signer

import (
	"context"
	"fmt"
	"strings"

	"github.com/idledger/idledger/jpki"
)

// Sign signs message with s as a JPKI card does: it builds
// jpki.DigestInfo(message) and has s sign it. jpki.VerifySignature checks the
// result.
func Sign(ctx context.Context, s Signer, message []byte) ([]byte, error) {
	return s.SignDigestInfo(ctx, jpki.DigestInfo(message))
}

// Open returns the Signer a spec names:
//
//	soft:KEYFILE,CERTFILE   a SoftSigner from PEM files (split on the first comma)
//	plugin:NAME             the plugin idledger-signer-NAME on PATH (see docs/signer-plugin-protocol.md)
func Open(spec string) (Signer, error) {
	kind, arg, ok := strings.Cut(spec, ":")
	switch {
	case ok && kind == "soft":
		keyPath, certPath, ok := strings.Cut(arg, ",")
		if !ok || keyPath == "" || certPath == "" {
			return nil, fmt.Errorf("signer: bad spec %q: want soft:KEYFILE,CERTFILE", spec)
		}
		return LoadSoft(keyPath, certPath)
	case ok && kind == "plugin":
		if arg == "" {
			return nil, fmt.Errorf("signer: bad spec %q: want plugin:NAME", spec)
		}
		return openPluginSigner(arg)
	default:
		return nil, fmt.Errorf("signer: unknown signer spec %q: want soft:KEYFILE,CERTFILE or plugin:NAME", spec)
	}
}
