// Package doctor checks a node home and its running node: configuration
// sanity, key file permissions, disk space, the node's RPC, its peers and
// their heights, and clock skew against the chain. Each check yields a
// Result (ok, warn or fail) with a plain sentence; the checks that judge
// values are pure functions of their inputs (and "now"), the I/O is in Run.
package doctor
