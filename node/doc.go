// Package node owns an idledger node's home directory and process: it makes a
// single-validator home (Init), or the keys of a home that joins a chain
// (InitKeysOnly, MakeJoinRequest, InstallGenesis, Join: the genesis ceremony
// and state-sync from a checkpoint), builds and reads CometBFT configurations
// (NewConfig, LoadConfig, the app's own section in LoadAppConfig), and runs
// CometBFT v0.40 in-process with the idledger ABCI application (Start, Run),
// with the verifier feed, the libp2p transport's peer gate, a remote
// validator signer and the halt for a chain upgrade.
//
// A home has CometBFT's layout, plus the operator's member key:
//
//	HOME/config/config.toml              CometBFT configuration
//	HOME/config/genesis.json             genesis: validators, members, trust anchors, parameters
//	HOME/config/node_key.json            p2p identity (the node ID)
//	HOME/config/priv_validator_key.json  consensus key
//	HOME/config/member_key.pem           the operator member's ed25519 key (PKCS#8, 0600)
//	HOME/data/                           block store, state, WAL, tx index
//	HOME/data/idledger/                  the application's IAVL state
//
// Everything listens on 127.0.0.1 unless the configuration says otherwise.
// Package testnet makes several homes with NewConfig (distinct ports,
// persistent peers) and one shared genesis; package nodetest starts real
// nodes for tests.
package node
