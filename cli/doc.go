// Package cli is the idledger command; cmd/idledger is a thin main around
// Main. NewRootCommand builds the tree, one file (or two) per top-level
// command:
//
// Running a node and a network:
//
//	init                 a node home: a single-validator chain, or keys for a genesis ceremony (node.go)
//	genesis              the genesis ceremony of several organisations: join-request, assemble, verify, install (genesis.go)
//	join                 a new node that joins a running network by state sync (join.go)
//	start                run a node (node.go, upgrade.go for its upgrade halt)
//	signer               the validator's remote signer: signer run (signer.go)
//	doctor               a node's health: config, keys, disk, clock, peers, lag (doctor.go)
//	testnet              a local multi-validator testnet: up, init, start, stop, status, load (testnet.go, load.go)
//	bench                measurements of the application: bench growth (bench.go)
//
// Writing to the ledger (each signed by a member key, and by the holder's
// JPKI key where the holder takes part; --generate-only signs without a
// network, offline.go):
//
//	attest               an attestation: the holder and the attesting member sign (attest.go, precheck.go)
//	revoke               revoke attestation, revoke subjects (revoke.go)
//	gov                  gov propose ACTION, gov vote (gov.go, claimtypes.go, upgrade.go)
//	broadcast            send a transaction made with --generate-only (broadcast.go)
//
// Reading, with proofs where it matters:
//
//	query                status, attestation, members, params, anchors, claim-types, upgrade, proposal, proposals
//	                     (query.go, query_gov.go, claimtypes.go, upgrade.go)
//	verifier             a light verifier of the chain's feed that answers offline: verifier run, verifier check (verifier.go)
//	present              the holder's side at a gate: a signed presentation (present.go)
//	verify-presentation  the gate's side: yes or no, with the reason (present.go)
//	explorer             a read-only web explorer of the chain (explorer.go)
//
// A test CA, and the versions:
//
//	ca                   a test JPKI CA: ca init, ca issue, ca revoke, ca crl (ca.go, ca_revoke.go)
//	version              the versions of idledger, its protocol and CometBFT (version.go)
//
// TestPackageDocNamesEveryCommand keeps this list whole.
//
// Every command that prints a result prints text by default and JSON with
// -o json. Errors are one line on stderr, "idledger: COMMAND: what went
// wrong", and a non-zero exit status: 1 for a failure, 2 for a usage error
// (any error wrapping usageError: cobra's flag and argument errors, and
// each command's own checks of its command line).
package cli
