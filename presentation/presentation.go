package presentation

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/idledger/idledger/jpki"
	"github.com/idledger/idledger/presentation/presentationpb"
	"github.com/idledger/idledger/signer"
)

// SignPurpose is the purpose tag in front of a presentation's sign bytes.
// It differs from chain.SignPurpose ("idledger/tx/v1").
const SignPurpose = "idledger/presentation/v1"

// Limits of a presentation.
const (
	// MaxSize bounds an encoded presentation.
	MaxSize = 8 << 10
	// MinChallenge and MaxChallenge bound the challenge, in bytes.
	MinChallenge = 16
	MaxChallenge = 64
	// MaxAudience bounds the audience, in characters (printable ASCII).
	MaxAudience = 128
	// MaxChainID bounds the chain ID (CometBFT's limit).
	MaxChainID = 50
	// MaxSignature bounds the signature (RSA-4096).
	MaxSignature = 512
)

// Presentation is a decoded presentation. Body is the exact signed bytes.
type Presentation struct {
	ChainID   string
	Challenge []byte
	Audience  string
	// Time is when the holder signed, Unix seconds.
	Time            int64
	AuthCertificate []byte
	Signature       []byte
	// Body is the encoded PresentationBody the signature covers.
	Body []byte
}

// SignBytes returns what the holder signs for an encoded body.
func SignBytes(body []byte) []byte {
	b := make([]byte, 0, len(SignPurpose)+1+len(body))
	b = append(b, SignPurpose...)
	b = append(b, 0)
	return append(b, body...)
}

// Request is what a holder is asked to present.
type Request struct {
	ChainID   string
	Challenge []byte
	Audience  string
	Time      time.Time
}

// Make builds and signs a presentation with s (the holder's card or soft
// key) and returns its encoding.
func Make(ctx context.Context, s signer.Signer, r Request) ([]byte, error) {
	body := &presentationpb.PresentationBody{ChainId: r.ChainID, Challenge: r.Challenge, Audience: r.Audience, Time: r.Time.Unix()}
	if err := checkBody(body); err != nil {
		return nil, err
	}
	bb, err := proto.MarshalOptions{Deterministic: true}.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("presentation: encode: %w", err)
	}
	cert, err := s.Certificate(ctx)
	if err != nil {
		return nil, fmt.Errorf("presentation: reading the certificate: %w", err)
	}
	sig, err := signer.Sign(ctx, s, SignBytes(bb))
	if err != nil {
		return nil, fmt.Errorf("presentation: signing: %w", err)
	}
	return Encode(&Presentation{Body: bb, AuthCertificate: cert, Signature: sig})
}

// Encode encodes p from its Body, AuthCertificate and Signature.
func Encode(p *Presentation) ([]byte, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(&presentationpb.Presentation{
		Body: p.Body, AuthCertificate: p.AuthCertificate, Signature: p.Signature,
	})
	if err != nil {
		return nil, fmt.Errorf("presentation: encode: %w", err)
	}
	return b, nil
}

// Decode decodes a presentation and checks its form: size, encoding (no
// unknown fields), and field limits. It checks no signature.
func Decode(raw []byte) (*Presentation, error) {
	if len(raw) > MaxSize {
		return nil, refuse(ReasonMalformed, "presentation is %d bytes, over the limit of %d", len(raw), MaxSize)
	}
	env := new(presentationpb.Presentation)
	if err := proto.Unmarshal(raw, env); err != nil {
		return nil, refuse(ReasonMalformed, "presentation does not decode: %v", err)
	}
	if hasUnknown(env) {
		return nil, refuse(ReasonMalformed, "presentation has unknown fields")
	}
	body := new(presentationpb.PresentationBody)
	if err := proto.Unmarshal(env.Body, body); err != nil {
		return nil, refuse(ReasonMalformed, "presentation body does not decode: %v", err)
	}
	if hasUnknown(body) {
		return nil, refuse(ReasonMalformed, "presentation body has unknown fields")
	}
	if err := checkBody(body); err != nil {
		return nil, err
	}
	if len(env.AuthCertificate) == 0 || len(env.AuthCertificate) > jpki.MaxCertificateSize {
		return nil, refuse(ReasonMalformed, "certificate missing or over %d bytes", jpki.MaxCertificateSize)
	}
	if len(env.Signature) == 0 || len(env.Signature) > MaxSignature {
		return nil, refuse(ReasonMalformed, "signature missing or over %d bytes", MaxSignature)
	}
	return &Presentation{
		ChainID: body.ChainId, Challenge: body.Challenge, Audience: body.Audience, Time: body.Time,
		AuthCertificate: env.AuthCertificate, Signature: env.Signature, Body: env.Body,
	}, nil
}

// hasUnknown: both messages are flat, so the top level is all there is.
func hasUnknown(m proto.Message) bool { return len(m.ProtoReflect().GetUnknown()) > 0 }

func checkBody(b *presentationpb.PresentationBody) error {
	switch {
	case b.ChainId == "" || len(b.ChainId) > MaxChainID:
		return refuse(ReasonMalformed, "chain ID missing or over %d characters", MaxChainID)
	case len(b.Challenge) < MinChallenge || len(b.Challenge) > MaxChallenge:
		return refuse(ReasonMalformed, "challenge is %d bytes, want %d to %d", len(b.Challenge), MinChallenge, MaxChallenge)
	case !validAudience(b.Audience):
		return refuse(ReasonMalformed, "audience %q: want 1-%d printable ASCII characters", b.Audience, MaxAudience)
	case b.Time <= 0:
		return refuse(ReasonMalformed, "time missing")
	}
	return nil
}

// ValidAudience reports whether a is a well-formed audience.
func ValidAudience(a string) bool { return validAudience(a) }

func validAudience(a string) bool {
	if a == "" || len(a) > MaxAudience {
		return false
	}
	for i := 0; i < len(a); i++ {
		if a[i] < 0x21 || a[i] > 0x7e {
			return false
		}
	}
	return true
}
