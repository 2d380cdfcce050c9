package node

// feedPeers counts the verifier feed host's connected peers, for the
// idledger_feed_peers gauge.
func (n *Node) feedPeers() int {
	if n.feed == nil {
		return 0
	}
	return len(n.feed.pub.Host().Network().Peers())
}
