// Package gpse is idledger-signer-gpse, the signer plugin that signs with
// the JPKI user-authentication key of a My Number Card or of the mobile
// JPKI certificate in an Android phone's GP-SE (secure element), over PC/SC.
//
// The layers, bottom up:
//
//   - apdu.go: short command and response APDUs (ISO 7816-4) and status
//     words; every response is bounded to 258 bytes.
//   - applet.go: the JPKI applet on a Transport: SELECT, READ BINARY of
//     the certificate by its DER length, the PIN tries counter and VERIFY
//     (never retried), COMPUTE DIGITAL SIGNATURE over SHA-256 DigestInfos
//     only. 6C xx and 61 xx are followed a bounded number of times
//     (ErrCardLoops).
//   - plugin.go: Plugin, the signer.PluginHandler: reader choice, the card
//     session, when to ask for the PIN (the PIN is the user's consent to
//     each signature), the mapping of the flow's errors to the protocol's
//     signer.ErrorCode values; the PCSC Backend on libpcsclite
//     (internal/pcsc, loaded at run time without cgo); and Main.
//
// The protocol to the idledger CLI is docs/signer-plugin-protocol.md, spoken
// through signer.ServePlugin. The applet's errors are the protocol's own
// (signer.ErrPINBlocked, signer.ErrCardRemoved, a *signer.PluginError with
// signer.CodeWrongPIN), so nothing is translated twice. Tests run the flow on
// the jpkiemu emulator in process, and end to end through a real pcscd and
// vsmartcard's vpcd driver (pcsc_e2e_test.go, IDLEDGER_REQUIRE_PCSC=1).
package gpse
