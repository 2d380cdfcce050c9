package chain

import (
	"errors"
	"fmt"

	"github.com/idledger/idledger/jpki"
)

// Code is an ABCI response code. Every refusal has its own; values are part of
// the protocol and never change meaning. docs/codes.md lists them.
type Code uint32

const (
	CodeOK Code = 0

	// Envelope and body.
	CodeMalformedTx    Code = 1 // not a decodable Tx / TxBody, unknown fields, over size
	CodeWrongChainID   Code = 2 // signed for another chain
	CodeUnknownMessage Code = 3 // no message in the body
	CodeInvalidField   Code = 4 // a field out of its syntax or range
	CodeUnknownSigner  Code = 5 // signer is not a member
	CodeMissingRole    Code = 6 // the member lacks the role
	CodeBadSequence    Code = 7 // replayed or skipped sequence
	CodeBadMemberSig   Code = 8 // the member's ed25519 signature does not verify
	CodeMissingSig     Code = 9 // a required signature is absent, or an unexpected one present

	// JPKI certificate and subject signature: 20 + jpki.Reason.
	CodeCertMalformed       Code = 21
	CodeCertExpired         Code = 22
	CodeCertNotYetValid     Code = 23
	CodeCertUnknownIssuer   Code = 24
	CodeCertWrongAnchorKind Code = 25
	CodeCertSigningProfile  Code = 26
	CodeCertNotAuthProfile  Code = 27
	CodeCertWeakKey         Code = 28
	CodeCertBadAlgorithm    Code = 29
	CodeCertBadSignature    Code = 30
	CodeBadSubjectSig       Code = 31
	CodeBadAnchor           Code = 32 // jpki.ReasonBadAnchor (an add_anchor action with one is refused as CodeInvalidAction)

	// Attest rules.
	CodeSubjectRevoked     Code = 40 // the subject's commitment is revoked
	CodeNotAfterBeyondCert Code = 41 // not_after later than the certificate's notAfter
	CodeLifetimeTooLong    Code = 42 // not_after beyond block time + max lifetime
	CodeNotAfterPassed     Code = 43 // not_after not after block time
	CodeClaimFull          Code = 44 // too many live attestations for this subject and claim type

	// Revocation.
	CodeUnknownAttestation Code = 50
	CodeAlreadyRevoked     Code = 51
	CodeNotAuthorized      Code = 52 // neither attester, revoker nor subject
	CodeTooManySubjects    Code = 53

	// Governance.
	CodeUnknownProposal Code = 60
	CodeProposalClosed  Code = 61
	CodeAlreadyVoted    Code = 62
	CodeInvalidAction   Code = 63

	// Block capacity (chain/changes.go): the block already changes as many
	// status records as its feed update can carry. Only a block's
	// transactions get it; a proposer leaves the transaction for the next
	// block, and CheckTx gives it to one too big for any block.
	CodeBlockChangesFull Code = 95
)

// TxError is a refused transaction: a code and a plain message. Every refusal
// the chain package returns is a *TxError.
type TxError struct {
	Code Code
	Msg  string
}

func (e *TxError) Error() string { return e.Msg }

func refuse(code Code, format string, args ...any) *TxError {
	return &TxError{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// CodeOf returns the code of err: CodeOK for nil, the TxError's code, the
// code of a jpki reason, or CodeMalformedTx for anything else.
func CodeOf(err error) Code {
	if err == nil {
		return CodeOK
	}
	var te *TxError
	if errors.As(err, &te) {
		return te.Code
	}
	var je *jpki.Error
	if errors.As(err, &je) {
		return 20 + Code(je.Reason)
	}
	return CodeMalformedTx
}

// fromJPKI turns a jpki error into a TxError with the matching code.
func fromJPKI(err error) *TxError {
	return &TxError{Code: CodeOf(err), Msg: err.Error()}
}
