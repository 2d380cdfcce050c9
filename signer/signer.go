// Package signer holds the subject's side of idledger: something that has a
// JPKI user-authentication certificate and can sign with its private key.
//
// Two kinds exist. The software signer (soft.go) keeps an RSA key and a
// certificate in PEM files, for testnets. Plugins are executables named
// idledger-signer-NAME on PATH that the CLI speaks to over stdin and stdout
// (docs/signer-plugin-protocol.md); idledger-signer-gpse talks to the JPKI
// applet of a My Number Card or a phone's secure element over PC/SC.
//
// The plugin protocol is split by role: protocol.go holds what both ends
// share (the ErrorCode values and errors a plugin returns, PluginError,
// PluginUI), client.go the client (PluginSigner), serve.go the plugin side
// (ServePlugin, PluginHandler), terminal.go the command line's UI
// (TerminalUI). The wire format itself is signer/internal/pluginwire.
package signer

import "context"

// Signer is the subject's JPKI key.
//
// Certificate returns the DER user-authentication certificate of the key.
// SignDigestInfo signs a DER DigestInfo (SHA-256) with RSA PKCS#1 v1.5, as the
// JPKI applet's COMPUTE DIGITAL SIGNATURE does, and returns the signature. A
// signer never hashes: the caller builds the DigestInfo (jpki.DigestInfo).
type Signer interface {
	Certificate(ctx context.Context) ([]byte, error)
	SignDigestInfo(ctx context.Context, digestInfo []byte) ([]byte, error)
}
