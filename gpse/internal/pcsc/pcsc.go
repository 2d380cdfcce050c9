// Package pcsc is a small binding to the PC/SC API of pcsc-lite
// (libpcsclite.so.1), loaded at run time with purego: no cgo, no C headers
// at build time. It binds the nine calls the JPKI plugin needs.
//
// pcsc-lite's DWORD and LONG are C longs: 64 bits on 64-bit Linux, which is
// why they are uintptr here. The library is Linux-only (macOS's PC/SC
// framework uses 32-bit DWORDs and would need its own types).
package pcsc

import "fmt"

// Scope, share modes, protocols and dispositions from pcsclite.h.
const (
	ScopeSystem = 2

	ShareExclusive = 1
	ShareShared    = 2

	ProtocolT0  = 1
	ProtocolT1  = 2
	ProtocolAny = ProtocolT0 | ProtocolT1

	LeaveCard   = 0
	ResetCard   = 1
	UnpowerCard = 2
)

// Error is a PC/SC return code.
type Error uint32

// The return codes the plugin tells apart.
const (
	ErrCancelled          Error = 0x80100002
	ErrInvalidHandle      Error = 0x80100003
	ErrInsufficientBuffer Error = 0x80100008
	ErrUnknownReader      Error = 0x80100009
	ErrTimeout            Error = 0x8010000A
	ErrSharingViolation   Error = 0x8010000B
	ErrNoSmartcard        Error = 0x8010000C
	ErrProtoMismatch      Error = 0x8010000F
	ErrCommError          Error = 0x80100013
	ErrNotTransacted      Error = 0x80100016
	ErrReaderUnavailable  Error = 0x80100017
	ErrNoService          Error = 0x8010001D
	ErrServiceStopped     Error = 0x8010001E
	ErrNoReadersAvailable Error = 0x8010002E
	ErrCommDataLost       Error = 0x8010002F
	ErrUnresponsiveCard   Error = 0x80100066
	ErrUnpoweredCard      Error = 0x80100067
	ErrResetCard          Error = 0x80100068
	ErrRemovedCard        Error = 0x80100069
)

var errorNames = map[Error]string{
	ErrCancelled:          "SCARD_E_CANCELLED",
	ErrInvalidHandle:      "SCARD_E_INVALID_HANDLE",
	ErrInsufficientBuffer: "SCARD_E_INSUFFICIENT_BUFFER",
	ErrUnknownReader:      "SCARD_E_UNKNOWN_READER",
	ErrTimeout:            "SCARD_E_TIMEOUT",
	ErrSharingViolation:   "SCARD_E_SHARING_VIOLATION",
	ErrNoSmartcard:        "SCARD_E_NO_SMARTCARD",
	ErrProtoMismatch:      "SCARD_E_PROTO_MISMATCH",
	ErrCommError:          "SCARD_F_COMM_ERROR",
	ErrNotTransacted:      "SCARD_E_NOT_TRANSACTED",
	ErrReaderUnavailable:  "SCARD_E_READER_UNAVAILABLE",
	ErrNoService:          "SCARD_E_NO_SERVICE (is pcscd running?)",
	ErrServiceStopped:     "SCARD_E_SERVICE_STOPPED",
	ErrNoReadersAvailable: "SCARD_E_NO_READERS_AVAILABLE",
	ErrCommDataLost:       "SCARD_E_COMM_DATA_LOST",
	ErrUnresponsiveCard:   "SCARD_W_UNRESPONSIVE_CARD",
	ErrUnpoweredCard:      "SCARD_W_UNPOWERED_CARD",
	ErrResetCard:          "SCARD_W_RESET_CARD",
	ErrRemovedCard:        "SCARD_W_REMOVED_CARD",
}

func (e Error) Error() string {
	if n, ok := errorNames[e]; ok {
		return "pcsc: " + n
	}
	return fmt.Sprintf("pcsc: error 0x%08X", uint32(e))
}
