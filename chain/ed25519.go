package chain

import (
	"crypto/ed25519"
	"errors"

	"github.com/oasisprotocol/curve25519-voi/curve"
	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"

	"github.com/idledger/idledger/internal/memo"
)

// Member signatures are ed25519, verified with exactly the rules of Go's
// crypto/ed25519 (cofactorless; small-order and non-canonical A allowed,
// canonical S required: voi's VerifyOptionsStdLib), but by
// curve25519-voi with each member key's decompressed point kept: members
// are few and sign everything, so the point is worked out once per key
// rather than once per transaction. The verdict is the standard
// library's (FuzzMemberSigMatchesStdlib), so nodes that verify either way
// agree on every signature.

var stdlibRules = &voi.Options{Verify: voi.VerifyOptionsStdLib}

// memberKeys holds expanded member keys (about 1.5 KiB each).
type memberKeys struct {
	c *memo.Cache[[ed25519.PublicKeySize]byte, *voi.ExpandedPublicKey]
}

func newMemberKeys(max int) memberKeys {
	return memberKeys{memo.New[[ed25519.PublicKeySize]byte, *voi.ExpandedPublicKey](max)}
}

// verify reports whether sig is pub's ed25519 signature of msg.
func (k memberKeys) verify(pub, msg, sig []byte) bool {
	if len(pub) != ed25519.PublicKeySize || len(sig) != ed25519.SignatureSize {
		return false
	}
	id := [ed25519.PublicKeySize]byte(pub)
	ek, ok := k.c.Get(id)
	if !ok {
		var err error
		if ek, err = voi.NewExpandedPublicKey(voi.PublicKey(pub)); err != nil {
			// Not a point: crypto/ed25519 refuses it too.
			return false
		}
		k.c.Put(id, ek)
	}
	return voi.VerifyExpandedWithOptions(ek, msg, sig, stdlibRules)
}

// checkMemberKey refuses a member key that is not a point of the curve
// (no signature would ever verify) or is of small order: under the
// cofactorless rule such a key verifies R = identity, S = 0 over any
// message, so anyone could sign for the member (TestSmallOrderMemberKeyRefused).
// A key made by ed25519 key generation is neither.
func checkMemberKey(pub []byte) error {
	var c curve.CompressedEdwardsY
	if _, err := c.SetBytes(pub); err != nil {
		return err
	}
	var p curve.EdwardsPoint
	if _, err := p.SetCompressedY(&c); err != nil {
		return errors.New("not a point of the curve")
	}
	if p.IsSmallOrder() {
		return errors.New("a point of small order, for which anyone can make a signature that verifies")
	}
	return nil
}
