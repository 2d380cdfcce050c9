// Package loadgen measures a running testnet: committed transactions per
// second and latency percentiles, with idledger's verified attestations or
// CometBFT's kvstore example as the reference (`idledger testnet load`,
// `idledger testnet load --compare kvstore`).
//
// It is split by job:
//
//	gen.go    the transactions, pre-signed on every core before the timed phase
//	send.go   one sender per lane (member and node), batched JSON-RPC, in order
//	watch.go  the block watcher that marks each transaction committed
//	stats.go  throughput, latency percentiles and refusals by stage and code
//	audit.go  the state check after a run (sequences, app hashes, proofs)
//	load.go   a run: options, result, and the phases in order
//	compare.go  the same shape on kvstore and on idledger, one after the other
//
// The load tool's own ceiling must stay well above what it measures:
// signing happens before the timed phase, and senders never wait on one
// reply before sending what is due.
package loadgen
