// Package feed is the verifier feed: nodes publish, for each committed
// block, its signed header, the validator set when it changed, and the
// previous block's change list (chain.ChangesKey) with every status record
// it names, each with its ICS23 proof, on one go-libp2p gossipsub topic per
// chain; a request/response protocol lets a verifier ask any node for the
// updates of a range of heights. Because the change list is in state, a
// verifier can prove an update complete.
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
//
// Resources: gossip messages are at most MaxGossipSize; sync is served from
// the publisher's cache of built updates (CacheBytes), rate-limited per peer
// (SyncRate, SyncBurst) and in total (MaxSyncStreams), answers bounded by
// MaxSyncResponseSize.
package feed
