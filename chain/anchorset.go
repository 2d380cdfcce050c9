package chain

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/idledger/idledger/chain/chainpb"
	"github.com/idledger/idledger/jpki"
)

// DecodeAnchorSet decodes the stored trust anchor set, the value under
// AnchorsKey, and parses each anchor, in stored order. An empty value is an
// empty set. It is the one decoder of that value: the state machine, the
// client, the verifier and the presentation checks all read anchors with it.
//
// Genesis and governance admit only anchors that parse, so an error means the
// value is not a stored anchor set (a corrupt store, a forged answer).
func DecodeAnchorSet(value []byte) ([]*jpki.Anchor, error) {
	set := new(chainpb.AnchorSet)
	if err := proto.Unmarshal(value, set); err != nil {
		return nil, fmt.Errorf("chain: trust anchor set does not decode: %w", err)
	}
	out := make([]*jpki.Anchor, 0, len(set.Anchors))
	for i, a := range set.Anchors {
		pa, err := jpki.ParseAnchor(a.Certificate)
		if err != nil {
			return nil, fmt.Errorf("chain: trust anchor %d of the set does not parse: %w", i+1, err)
		}
		out = append(out, pa)
	}
	return out, nil
}
