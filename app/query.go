package app

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strings"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtcrypto "github.com/cometbft/cometbft/proto/tendermint/crypto"
	"github.com/cosmos/iavl"
	"google.golang.org/protobuf/proto"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/chain/chainpb"
)

// Query codes.
const (
	queryCodeBadRequest = 1
	queryCodeNoState    = 2
	queryCodeNoVersion  = 3
	queryCodePeerDenied = 4
)

type queryError struct {
	code uint32
	msg  string
}

func (e *queryError) Error() string { return e.msg }

func qerr(code uint32, format string, args ...any) *queryError {
	return &queryError{code, fmt.Sprintf(format, args...)}
}

func (a *App) query(req *abci.RequestQuery) (*abci.ResponseQuery, error) {
	if id, ok := strings.CutPrefix(req.Path, "/p2p/filter/id/"); ok {
		if a.peerAllowed(id) {
			return &abci.ResponseQuery{Code: abci.CodeTypeOK}, nil
		}
		return nil, qerr(queryCodePeerDenied, "node %s is not registered to a validator member", id)
	}
	if strings.HasPrefix(req.Path, "/p2p/filter/addr/") {
		return &abci.ResponseQuery{Code: abci.CodeTypeOK}, nil // node IDs decide
	}
	tree, err := a.version(req.Height)
	if err != nil {
		return nil, err
	}
	if after, ok := strings.CutPrefix(req.Path, chain.PathRange+"/after/"); ok {
		key, err := hex.DecodeString(after)
		if err != nil || !bytes.HasPrefix(key, req.Data) {
			return nil, qerr(queryCodeBadRequest, "%s/after/KEY: KEY must be hex and under the prefix", chain.PathRange)
		}
		return queryRange(tree, req.Data, append(key, 0))
	}
	switch req.Path {
	case chain.PathKey:
		return queryKey(tree, req.Data, req.Prove)
	case chain.PathRange:
		return queryRange(tree, req.Data, req.Data)
	default:
		return nil, qerr(queryCodeBadRequest, "unknown query path %q (want %s or %s)", req.Path, chain.PathKey, chain.PathRange)
	}
}

// version returns the committed tree at height (0: the latest).
func (a *App) version(height int64) (*iavl.ImmutableTree, error) {
	if a.committed == nil {
		return nil, qerr(queryCodeNoState, "no state yet: the chain has not committed a block")
	}
	if height == 0 || height == a.committed.Version() {
		return a.committed, nil
	}
	t, err := a.tree.GetImmutable(height)
	if err != nil {
		return nil, qerr(queryCodeNoVersion, "state at height %d is not available (latest %d): %v", height, a.committed.Version(), err)
	}
	return t, nil
}

func queryKey(tree *iavl.ImmutableTree, key []byte, prove bool) (*abci.ResponseQuery, error) {
	if len(key) == 0 {
		return nil, qerr(queryCodeBadRequest, "empty key")
	}
	v, err := tree.Get(key)
	if err != nil {
		return nil, qerr(queryCodeBadRequest, "read: %v", err)
	}
	res := &abci.ResponseQuery{Code: abci.CodeTypeOK, Key: key, Value: v, Height: tree.Version()}
	if prove {
		p, err := tree.GetProof(key)
		if err != nil {
			return nil, qerr(queryCodeBadRequest, "proof: %v", err)
		}
		data, err := p.Marshal()
		if err != nil {
			return nil, qerr(queryCodeBadRequest, "proof: %v", err)
		}
		res.ProofOps = &cmtcrypto.ProofOps{Ops: []cmtcrypto.ProofOp{{Type: chain.ProofOpIAVL, Key: key, Data: data}}}
	}
	return res, nil
}

// queryRange lists the pairs under prefix from key start on.
func queryRange(tree *iavl.ImmutableTree, prefix, start []byte) (*abci.ResponseQuery, error) {
	if len(prefix) == 0 {
		return nil, qerr(queryCodeBadRequest, "empty prefix")
	}
	out := &chainpb.Range{}
	end := chain.PrefixEnd(prefix)
	tree.IterateRange(start, end, true, func(k, v []byte) bool {
		if len(out.Pairs) == chain.RangeLimit {
			out.More = true
			return true
		}
		out.Pairs = append(out.Pairs, &chainpb.KV{Key: bytes.Clone(k), Value: bytes.Clone(v)})
		return false
	})
	b, err := proto.Marshal(out)
	if err != nil {
		return nil, qerr(queryCodeBadRequest, "encode: %v", err)
	}
	return &abci.ResponseQuery{Code: abci.CodeTypeOK, Key: prefix, Value: b, Height: tree.Version()}, nil
}
