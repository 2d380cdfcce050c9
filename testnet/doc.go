// Package testnet owns local multi-node testnets: a directory holding a test
// JPKI CA with card holders, one node home per validator on distinct
// 127.0.0.1 ports, and a genesis that ties them together (Init); the node
// processes, each its own "idledger start" (Open, Network); their status
// read over RPC (Status). The load generator that measures committed
// transactions per second and latency on a running testnet is package
// loadgen.
//
// A testnet directory:
//
//	DIR/testnet.json       the manifest: chain ID, app, nodes, ports, members
//	DIR/ca/                the test JPKI CA and its holders (see package testca)
//	DIR/nodeI/             node I's home (see package node), whose member is orgI
//	DIR/nodeI/node.log     node I's stdout and stderr
//	DIR/nodeI/node.pid     node I's process ID while it runs
//
// Everything listens on 127.0.0.1. Nothing here is for production: the CA
// key, the member keys and the consensus keys all sit in DIR.
package testnet
