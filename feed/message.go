package feed

import (
	"bytes"
	"fmt"

	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/libp2p/go-libp2p/core/protocol"
	"google.golang.org/protobuf/proto"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/feed/feedpb"
)

// Limits of the wire format.
const (
	// MaxUpdateSize bounds an encoded FeedUpdate (and a gossip message).
	MaxUpdateSize = 8 << 20
	// MaxGossipSize bounds an update sent over gossip: larger ones (blocks
	// that changed very many records) travel over the sync protocol only,
	// so that a flood of big messages costs a verifier little memory.
	MaxGossipSize = 1 << 20
	// MaxEntries bounds the entries of one update: the change list, the
	// records it names and the anchor set.
	MaxEntries = chain.MaxChangedKeys + 2
	// MaxEntryValue bounds one entry's value; MaxEntryProof its proof.
	MaxEntryValue = 64 << 10
	MaxEntryProof = 16 << 10
	// MaxSyncRequestSize bounds an encoded FeedSyncRequest.
	MaxSyncRequestSize = 1 << 10
	// MaxSyncResponseSize bounds an encoded FeedSyncResponse.
	MaxSyncResponseSize = MaxUpdateSize + 1<<20
	// MaxSyncUpdates bounds the updates of one sync response.
	MaxSyncUpdates = 100
)

// Topic is the gossipsub topic of a chain's feed.
func Topic(chainID string) string { return "/idledger/" + chainID + "/feed/v1" }

// SyncProtocol is the libp2p protocol ID of a chain's sync protocol.
func SyncProtocol(chainID string) protocol.ID {
	return protocol.ID("/idledger/" + chainID + "/feed-sync/v1")
}

// Update is a decoded FeedUpdate. It is only well-formed: nothing in it is
// verified.
type Update struct {
	ChainID string
	Height  int64
	Header  *cmttypes.SignedHeader
	// Validators is nil when the update did not carry them.
	Validators *cmttypes.ValidatorSet
	Entries    []*feedpb.FeedEntry
	// Raw is the encoding the update was decoded from.
	Raw []byte
}

var marshalOpts = proto.MarshalOptions{Deterministic: true}

// EncodeUpdate encodes an update.
func EncodeUpdate(m *feedpb.FeedUpdate) ([]byte, error) {
	b, err := marshalOpts.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("feed: encode update: %w", err)
	}
	if len(b) > MaxUpdateSize {
		return nil, fmt.Errorf("feed: update for height %d is %d bytes, over the limit of %d", m.Height, len(b), MaxUpdateSize)
	}
	return b, nil
}

// DecodeUpdate decodes an update and checks its form: size, encoding,
// limits, a signed header of the update's chain and height that passes
// CometBFT's ValidateBasic, a validator set matching the header's
// validators hash when present, entry keys in strictly increasing order.
func DecodeUpdate(raw []byte) (*Update, error) {
	if len(raw) > MaxUpdateSize {
		return nil, fmt.Errorf("feed: update is %d bytes, over the limit of %d", len(raw), MaxUpdateSize)
	}
	m := new(feedpb.FeedUpdate)
	if err := proto.Unmarshal(raw, m); err != nil {
		return nil, fmt.Errorf("feed: update does not decode: %w", err)
	}
	u, err := fromProto(m)
	if err != nil {
		return nil, err
	}
	u.Raw = raw
	return u, nil
}

func fromProto(m *feedpb.FeedUpdate) (*Update, error) {
	if m.ChainId == "" || len(m.ChainId) > cmttypes.MaxChainIDLen {
		return nil, fmt.Errorf("feed: update has a bad chain ID %q", m.ChainId)
	}
	if m.Height <= 0 {
		return nil, fmt.Errorf("feed: update has height %d", m.Height)
	}
	if len(m.Entries) > MaxEntries {
		return nil, fmt.Errorf("feed: update has %d entries, over the limit of %d", len(m.Entries), MaxEntries)
	}
	var shp cmtproto.SignedHeader
	if err := shp.Unmarshal(m.SignedHeader); err != nil {
		return nil, fmt.Errorf("feed: signed header does not decode: %w", err)
	}
	sh, err := cmttypes.SignedHeaderFromProto(&shp)
	if err != nil {
		return nil, fmt.Errorf("feed: signed header: %w", err)
	}
	if err := sh.ValidateBasic(m.ChainId); err != nil {
		return nil, fmt.Errorf("feed: signed header: %w", err)
	}
	if sh.Height != m.Height {
		return nil, fmt.Errorf("feed: update for height %d carries header %d", m.Height, sh.Height)
	}
	u := &Update{ChainID: m.ChainId, Height: m.Height, Header: sh, Entries: m.Entries}
	if len(m.ValidatorSet) > 0 {
		var vp cmtproto.ValidatorSet
		if err := vp.Unmarshal(m.ValidatorSet); err != nil {
			return nil, fmt.Errorf("feed: validator set does not decode: %w", err)
		}
		vals, err := cmttypes.ValidatorSetFromProto(&vp)
		if err != nil {
			return nil, fmt.Errorf("feed: validator set: %w", err)
		}
		if !bytes.Equal(vals.Hash(), sh.ValidatorsHash) {
			return nil, fmt.Errorf("feed: validator set hash %X is not header %d's %X", vals.Hash(), sh.Height, sh.ValidatorsHash)
		}
		u.Validators = vals
	}
	for i, e := range m.Entries {
		if len(e.Key) == 0 || len(e.Value) > MaxEntryValue || len(e.Proof) == 0 || len(e.Proof) > MaxEntryProof {
			return nil, fmt.Errorf("feed: entry %d breaks the limits", i)
		}
		if i > 0 && bytes.Compare(m.Entries[i-1].Key, e.Key) >= 0 {
			return nil, fmt.Errorf("feed: entry keys are not in increasing order at %d", i)
		}
	}
	return u, nil
}

// encodeHeader and encodeVals encode CometBFT types for an update.
func encodeHeader(sh *cmttypes.SignedHeader) ([]byte, error) { return sh.ToProto().Marshal() }

func encodeVals(vals *cmttypes.ValidatorSet) ([]byte, error) {
	p, err := vals.ToProto()
	if err != nil {
		return nil, err
	}
	return p.Marshal()
}

// DecodeValidators decodes a CometBFT ValidatorSet encoded as in an update.
func DecodeValidators(b []byte) (*cmttypes.ValidatorSet, error) {
	var vp cmtproto.ValidatorSet
	if err := vp.Unmarshal(b); err != nil {
		return nil, fmt.Errorf("feed: validator set does not decode: %w", err)
	}
	return cmttypes.ValidatorSetFromProto(&vp)
}

// DecodeSignedHeader decodes a CometBFT SignedHeader encoded as in an
// update.
func DecodeSignedHeader(b []byte) (*cmttypes.SignedHeader, error) {
	var shp cmtproto.SignedHeader
	if err := shp.Unmarshal(b); err != nil {
		return nil, fmt.Errorf("feed: signed header does not decode: %w", err)
	}
	return cmttypes.SignedHeaderFromProto(&shp)
}

// EncodeValidators and EncodeSignedHeader are the inverses.
func EncodeValidators(v *cmttypes.ValidatorSet) ([]byte, error)    { return encodeVals(v) }
func EncodeSignedHeader(sh *cmttypes.SignedHeader) ([]byte, error) { return encodeHeader(sh) }
