package jpki

import "fmt"

// Kind is the kind of a JPKI certificate or trust anchor.
type Kind uint8

const (
	// KindUnknown is neither JPKI profile.
	KindUnknown Kind = iota
	// KindAuth is the user-authentication profile (利用者証明用電子証明書):
	// no personal data; the only kind idledger accepts by default.
	KindAuth
	// KindSign is the digital-signature profile (署名用電子証明書): it
	// carries the holder's name, address, birth date and sex.
	KindSign
)

// String returns "auth", "sign" or "unknown".
func (k Kind) String() string {
	switch k {
	case KindAuth:
		return "auth"
	case KindSign:
		return "sign"
	default:
		return "unknown"
	}
}

// ParseKind is the inverse of [Kind.String] for "auth" and "sign".
// "unknown" and anything else is an error.
func ParseKind(s string) (Kind, error) {
	switch s {
	case "auth":
		return KindAuth, nil
	case "sign":
		return KindSign, nil
	default:
		return KindUnknown, fmt.Errorf("jpki: unknown certificate kind %q (want auth or sign)", s)
	}
}
