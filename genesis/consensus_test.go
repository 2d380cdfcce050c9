package genesis_test

import (
	"testing"
	"time"

	"github.com/idledger/idledger/genesis"
)

// TestGenesisBlockSizeFitsWorkload: the genesis documents node init and
// testnet init write (both through NewDoc) bound a block to
// genesis.MaxBlockBytes, not CometBFT's 22 MiB default.
func TestGenesisBlockSizeFitsWorkload(t *testing.T) {
	p := genesis.ConsensusParams()
	if p.Block.MaxBytes != genesis.MaxBlockBytes || p.Evidence.MaxBytes > p.Block.MaxBytes {
		t.Fatalf("block max_bytes %d, evidence %d", p.Block.MaxBytes, p.Evidence.MaxBytes)
	}
	if err := p.ValidateBasic(); err != nil {
		t.Fatal(err)
	}
	doc, err := genesis.NewDoc("size-test", time.Unix(0, 0), nil, valid(t))
	if err != nil {
		t.Fatal(err)
	}
	if doc.ConsensusParams.Block.MaxBytes != genesis.MaxBlockBytes {
		t.Fatalf("NewDoc writes block max_bytes %d", doc.ConsensusParams.Block.MaxBytes)
	}
}
