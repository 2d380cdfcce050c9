package testca

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"

	"github.com/idledger/idledger/jpki"
)

var (
	oidExtSubjectAltName      = asn1.ObjectIdentifier{2, 5, 29, 17}
	oidExtCertificatePolicies = asn1.ObjectIdentifier{2, 5, 29, 32}
)

// pkixName is C=JP, CN=name, as on a JPKI card (whose CN is a number-like
// identifier).
func pkixName(name string) pkix.RDNSequence {
	return pkix.RDNSequence{
		{{Type: oidCountry, Value: printable("JP")}},
		{{Type: oidCN, Value: utf8(name)}},
	}
}

// certificatePolicies is a critical certificatePolicies extension holding one
// policy without qualifiers.
func certificatePolicies(policy asn1.ObjectIdentifier) (pkix.Extension, error) {
	type policyInformation struct {
		Policy asn1.ObjectIdentifier
	}
	v, err := asn1.Marshal([]policyInformation{{Policy: policy}})
	if err != nil {
		return pkix.Extension{}, fmt.Errorf("testca: encoding certificate policies: %w", err)
	}
	return pkix.Extension{Id: oidExtCertificatePolicies, Critical: true, Value: v}, nil
}

// personalDataSAN is a subjectAltName of JPKI personal-data otherNames with
// fake, clearly test values, as a signing certificate carries them.
func personalDataSAN(name string) (pkix.Extension, error) {
	facts := []struct {
		oid   asn1.ObjectIdentifier
		value string
	}{
		{jpki.OIDPersonalName, "テスト " + name},
		{jpki.OIDPersonalSex, "9"},                  // JIS X 0303: not applicable
		{jpki.OIDPersonalBirthDate, "419900102"},    // era digit, then YYYYMMDD
		{jpki.OIDPersonalAddress, "東京都千代田区テスト町1-1"}, // fake
	}
	var names []asn1.RawValue
	for _, f := range facts {
		oid, err := asn1.Marshal(f.oid)
		if err != nil {
			return pkix.Extension{}, err
		}
		str, err := asn1.Marshal(utf8(f.value))
		if err != nil {
			return pkix.Extension{}, err
		}
		// value [0] EXPLICIT UTF8String
		val, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: str})
		if err != nil {
			return pkix.Extension{}, err
		}
		// otherName [0] IMPLICIT SEQUENCE { type-id, value }
		names = append(names, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: append(oid, val...)})
	}
	v, err := asn1.Marshal(names)
	if err != nil {
		return pkix.Extension{}, fmt.Errorf("testca: encoding subjectAltName: %w", err)
	}
	return pkix.Extension{Id: oidExtSubjectAltName, Value: v}, nil
}
