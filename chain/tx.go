package chain

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"regexp"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/idledger/idledger/chain/chainpb"
	"github.com/idledger/idledger/jpki"
	"github.com/idledger/idledger/privacy"
)

// SignPurpose is the purpose tag in front of every transaction's sign bytes;
// other signed things (presentations) use other tags, so a signature made
// for one can never be replayed as another.
const SignPurpose = "idledger/tx/v1"

// MaxTxSize bounds an encoded transaction.
const MaxTxSize = 16 << 10

// Field limits.
const (
	MaxClaimTypeLen = 64
	MaxReasonLen    = 256
)

var (
	memberIDRe  = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)
	claimTypeRe = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)
)

// ValidMemberID reports whether id is a well-formed member ID.
func ValidMemberID(id string) bool { return memberIDRe.MatchString(id) }

// ValidClaimType reports whether t is a well-formed claim type.
func ValidClaimType(t string) bool { return claimTypeRe.MatchString(t) }

// SignBytes returns what the member and the subject sign for a body: the
// purpose tag, a zero byte, and the exact body bytes (which carry the chain
// ID).
func SignBytes(body []byte) []byte {
	b := make([]byte, 0, len(SignPurpose)+1+len(body))
	b = append(b, SignPurpose...)
	b = append(b, 0)
	return append(b, body...)
}

// Tx is a decoded transaction. It is immutable once DecodeTx returns it:
// one decoded Tx is shared by CheckTx, the proposal calls and FinalizeBlock
// (a cache keyed by its hash), on several goroutines, so nothing may change
// it or anything it points to. Rules that normalise a value copy it first.
// Verification verdicts live in the Machine's caches, not here.
type Tx struct {
	Raw       []byte
	Hash      [32]byte
	Env       *chainpb.Tx
	Body      *chainpb.TxBody
	SignBytes []byte
}

// DecodeTx decodes and checks a transaction's form, without state: size,
// encoding (unknown fields are refused: nothing unsigned or unread rides
// along), chain ID, field syntax and which signatures are present.
func DecodeTx(raw []byte, chainID string) (*Tx, error) {
	if len(raw) > MaxTxSize {
		return nil, refuse(CodeMalformedTx, "transaction is %d bytes, over the limit of %d", len(raw), MaxTxSize)
	}
	env := new(chainpb.Tx)
	if err := proto.Unmarshal(raw, env); err != nil {
		return nil, refuse(CodeMalformedTx, "transaction does not decode: %v", err)
	}
	if len(env.ProtoReflect().GetUnknown()) > 0 {
		return nil, refuse(CodeMalformedTx, "transaction has unknown fields")
	}
	body := new(chainpb.TxBody)
	if err := proto.Unmarshal(env.Body, body); err != nil {
		return nil, refuse(CodeMalformedTx, "transaction body does not decode: %v", err)
	}
	if hasUnknown(body) {
		return nil, refuse(CodeMalformedTx, "transaction body has unknown fields")
	}
	if body.ChainId != chainID {
		return nil, refuse(CodeWrongChainID, "signed for chain %q, this is %q", body.ChainId, chainID)
	}
	tx := &Tx{Raw: raw, Hash: sha256.Sum256(raw), Env: env, Body: body, SignBytes: SignBytes(env.Body)}
	if err := checkForm(tx); err != nil {
		return nil, err
	}
	return tx, nil
}

// hasUnknown reports unknown fields in a message or any message inside it.
func hasUnknown(m proto.Message) bool {
	r := m.ProtoReflect()
	if len(r.GetUnknown()) > 0 {
		return true
	}
	found := false
	r.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Message() != nil:
			l := v.List()
			for i := 0; i < l.Len() && !found; i++ {
				found = hasUnknown(l.Get(i).Message().Interface())
			}
		case fd.Message() != nil && !fd.IsMap():
			found = hasUnknown(v.Message().Interface())
		}
		return !found
	})
	return found
}

// noMyNumber refuses text the ledger would record in the clear when it
// carries what looks like a My Number (個人番号), which idledger never
// records in any form.
func noMyNumber(field, text string) error {
	if d, found := privacy.FindMyNumber([]byte(text)); found {
		return refuse(CodeInvalidField, "%s carries what looks like a My Number (%s): the ledger never records one", field, privacy.Mask(d))
	}
	return nil
}

func checkForm(tx *Tx) error {
	b := tx.Body
	memberSigned := b.Signer != ""
	if memberSigned {
		if !ValidMemberID(b.Signer) {
			return refuse(CodeInvalidField, "signer %q is not a member ID", b.Signer)
		}
		if len(tx.Env.MemberSignature) != ed25519.SignatureSize {
			return refuse(CodeMissingSig, "member signature missing or not %d bytes", ed25519.SignatureSize)
		}
	} else {
		if b.Sequence != 0 {
			return refuse(CodeInvalidField, "sequence without a signer")
		}
		if len(tx.Env.MemberSignature) != 0 {
			return refuse(CodeMissingSig, "member signature without a signer")
		}
	}
	needSubject := false
	switch m := b.Msg.(type) {
	case *chainpb.TxBody_Attest:
		a := m.Attest
		if !memberSigned {
			return refuse(CodeMissingSig, "an attestation needs its attester's signature")
		}
		if !ValidClaimType(a.ClaimType) {
			return refuse(CodeInvalidField, "claim type %q: want 1-%d characters of a-z 0-9 . _ -", a.ClaimType, MaxClaimTypeLen)
		}
		if err := noMyNumber("claim type", a.ClaimType); err != nil {
			return err
		}
		if len(a.ClaimHash) != sha256.Size {
			return refuse(CodeInvalidField, "claim hash is %d bytes, want %d", len(a.ClaimHash), sha256.Size)
		}
		if len(a.AuthCertificate) == 0 || len(a.AuthCertificate) > jpki.MaxCertificateSize {
			return refuse(CodeInvalidField, "auth certificate missing or over %d bytes", jpki.MaxCertificateSize)
		}
		needSubject = true
	case *chainpb.TxBody_RevokeAttestation:
		r := m.RevokeAttestation
		if len(r.AttestationId) != AttestationIDLen {
			return refuse(CodeInvalidField, "attestation ID is %d bytes, want %d", len(r.AttestationId), AttestationIDLen)
		}
		if len(r.Reason) > MaxReasonLen {
			return refuse(CodeInvalidField, "reason over %d bytes", MaxReasonLen)
		}
		if err := noMyNumber("reason", r.Reason); err != nil {
			return err
		}
		if !memberSigned {
			if len(r.SubjectCertificate) == 0 || len(r.SubjectCertificate) > jpki.MaxCertificateSize {
				return refuse(CodeMissingSig, "a revocation by the subject carries the subject's certificate")
			}
			needSubject = true
		} else if len(r.SubjectCertificate) != 0 {
			return refuse(CodeInvalidField, "a member's revocation carries no subject certificate")
		}
	case *chainpb.TxBody_RevokeSubjects:
		r := m.RevokeSubjects
		if !memberSigned {
			return refuse(CodeMissingSig, "revoking subjects needs a revoker's signature")
		}
		if len(r.Commitments) == 0 {
			return refuse(CodeInvalidField, "no commitments to revoke")
		}
		for i, c := range r.Commitments {
			if len(c) != sha256.Size {
				return refuse(CodeInvalidField, "commitment %d is %d bytes, want %d", i, len(c), sha256.Size)
			}
		}
		if len(r.Reason) > MaxReasonLen {
			return refuse(CodeInvalidField, "reason over %d bytes", MaxReasonLen)
		}
		if err := noMyNumber("reason", r.Reason); err != nil {
			return err
		}
	case *chainpb.TxBody_Propose:
		if !memberSigned {
			return refuse(CodeMissingSig, "governance needs a governor's signature")
		}
		// The action's form is part of the transaction's: a proposal whose
		// action could never execute (or carries a My Number in a member's
		// name) is refused before it reaches any block.
		if err := CheckAction(m.Propose.GetAction()); err != nil {
			return refuse(CodeInvalidAction, "%v", err)
		}
	case *chainpb.TxBody_Vote:
		if !memberSigned {
			return refuse(CodeMissingSig, "governance needs a governor's signature")
		}
	default:
		return refuse(CodeUnknownMessage, "transaction carries no known message")
	}
	if needSubject && len(tx.Env.SubjectSignature) == 0 {
		return refuse(CodeMissingSig, "subject's JPKI signature missing")
	}
	if !needSubject && len(tx.Env.SubjectSignature) != 0 {
		return refuse(CodeMissingSig, "unexpected subject signature")
	}
	return nil
}

// CheckCanonical refuses a transaction whose bytes are not the one
// encoding EncodeTx makes of its envelope. DecodeTx accepts others
// (protobuf takes the last of a repeated field), so anyone who sees a
// transaction could re-encode it: another hash for the same signed
// transaction (a client waiting on its hash never sees it commit), and up
// to the size limit of unsigned, unread bytes of the re-encoder's choice in
// every block (a My Number among them: no field check sees them). The
// mempool admits canonical transactions only (app.CheckTx); blocks take
// what DecodeTx accepts, as every release before did (refusing more there
// is a chain upgrade).
func CheckCanonical(tx *Tx) error {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(tx.Env)
	if err != nil || !bytes.Equal(b, tx.Raw) {
		return refuse(CodeMalformedTx, "transaction is not canonically encoded (%d bytes; its envelope encodes to %d)", len(tx.Raw), len(b))
	}
	return nil
}
