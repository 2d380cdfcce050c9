package feed_test

import (
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	"github.com/cometbft/cometbft/rpc/client/local"

	"github.com/idledger/idledger/feed"
)

// Both of CometBFT's RPC clients serve a publisher.
var (
	_ feed.RPC = (*local.Local)(nil)
	_ feed.RPC = (*rpchttp.HTTP)(nil)
)
