package chain

import (
	"encoding/binary"
	"fmt"
	"regexp"

	"github.com/idledger/idledger/chain/chainpb"
)

// Upgrade state, under prefix 0x14:
//
//	0x14 0x00       -> UpgradePlan (the one scheduled upgrade, if any)
//	0x14 0x01 name  -> height it was applied at (8 bytes, big-endian)
const prefixUpgrade = 0x14

// UpgradePlanKey holds the scheduled upgrade.
func UpgradePlanKey() []byte { return []byte{prefixUpgrade, 0x00} }

// UpgradeDoneKey records an applied upgrade.
func UpgradeDoneKey(name string) []byte { return append([]byte{prefixUpgrade, 0x01}, name...) }

var upgradeNameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// ValidUpgradeName reports whether name can name an upgrade: 1-64 of
// a-z 0-9 . _ -, starting with a letter or digit.
func ValidUpgradeName(name string) bool { return upgradeNameRe.MatchString(name) }

// GetUpgradePlan returns the scheduled upgrade, or nil.
func GetUpgradePlan(st Store) *chainpb.UpgradePlan {
	b := st.Get(UpgradePlanKey())
	if b == nil {
		return nil
	}
	p := new(chainpb.UpgradePlan)
	unmarshal(b, p)
	return p
}

// UpgradeDoneHeight returns the height the named upgrade was applied at,
// or 0.
func UpgradeDoneHeight(st Store, name string) int64 {
	b := st.Get(UpgradeDoneKey(name))
	if len(b) != 8 {
		return 0
	}
	return int64(binary.BigEndian.Uint64(b))
}

// ApplyUpgrade records that the scheduled upgrade ran at env.Height and
// clears the plan. The app calls it once the upgrade's handler has run.
func ApplyUpgrade(st Store, env Env, p *chainpb.UpgradePlan) {
	st.Set(UpgradeDoneKey(p.Name), binary.BigEndian.AppendUint64(nil, uint64(env.Height)))
	st.Delete(UpgradePlanKey())
}

func checkUpgrade(p *chainpb.UpgradePlan) error {
	if p == nil {
		return fmt.Errorf("upgrade: no plan")
	}
	if !ValidUpgradeName(p.Name) {
		return fmt.Errorf("upgrade: name %q: want 1-64 of a-z 0-9 . _ -", p.Name)
	}
	if p.Height <= 0 {
		return fmt.Errorf("upgrade: height %d: want a positive height", p.Height)
	}
	return nil
}

// scheduleUpgrade executes an upgrade action: the plan replaces any
// scheduled one. The height must lie ahead and the name be new.
func scheduleUpgrade(st Store, env Env, p *chainpb.UpgradePlan) error {
	if p.Height <= env.Height {
		return fmt.Errorf("upgrade height %d is not after this block (%d)", p.Height, env.Height)
	}
	if h := UpgradeDoneHeight(st, p.Name); h != 0 {
		return fmt.Errorf("upgrade %q was applied already at height %d", p.Name, h)
	}
	st.Set(UpgradePlanKey(), marshal(p))
	return nil
}
