// Package feed is the verifier feed: nodes publish, for each committed
// block, its signed header, the validator set when it changed, and every
// ClaimStatus record the previous block changed with its ICS23 proof, on one
// go-libp2p gossipsub topic per chain; a request/response protocol lets a
// verifier ask any node for the updates of a range of heights.
//
// The package owns the wire format (message.go), the building of updates
// from a node's RPC (build.go), the libp2p host (host.go), the publisher
// (publisher.go) and the sync protocol (sync.go). It verifies nothing:
// package verifier checks every update with the light-client rules.
//
//	topic          /idledger/<chain-id>/feed/v1        FeedUpdate
//	sync protocol  /idledger/<chain-id>/feed-sync/v1   FeedSyncRequest -> FeedSyncResponse
//
// An update for block N carries header N and the records block N-1 changed,
// proven against state version N-1, whose root is header N's app hash.
package feed
