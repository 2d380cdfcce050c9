package genesis

import (
	cmttypes "github.com/cometbft/cometbft/types"
)

// MaxBlockBytes bounds a block (transactions and header) in the genesis
// consensus parameters: 4 MiB holds about 3,000 attestations of ~1.3 KB,
// or 256 transactions at the 16 KiB cap, against CometBFT's default of
// 22 MiB (and its ceiling of 100 MiB), which would let a proposer stuff
// every node's block store far beyond the workload.
const MaxBlockBytes = 4 << 20

// ConsensusParams are the CometBFT consensus parameters idledger's genesis
// documents carry: CometBFT's defaults with the block size fitted to the
// workload.
func ConsensusParams() *cmttypes.ConsensusParams {
	p := cmttypes.DefaultConsensusParams()
	p.Block.MaxBytes = MaxBlockBytes
	if p.Evidence.MaxBytes > p.Block.MaxBytes/4 {
		p.Evidence.MaxBytes = p.Block.MaxBytes / 4
	}
	return p
}
