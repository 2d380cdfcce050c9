package genesis

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	cmttypes "github.com/cometbft/cometbft/types"
)

// Summary is what operators compare out of band before installing a
// genesis: its hash, chain, members and validators.
type Summary struct {
	// Hash is the SHA-256 of the genesis file's bytes, hex.
	Hash        string             `json:"hash"`
	ChainID     string             `json:"chain_id"`
	GenesisTime time.Time          `json:"genesis_time"`
	Members     []SummaryMember    `json:"members"`
	Validators  []SummaryValidator `json:"validators"`
	Anchors     []string           `json:"anchors"`
	// GovernorThreshold is how many governors must approve a proposal.
	GovernorThreshold uint32 `json:"governor_threshold"`
}

// SummaryMember is one member of a Summary.
type SummaryMember struct {
	ID         string   `json:"id"`
	Name       string   `json:"name,omitempty"`
	PubKey     string   `json:"pub_key"` // hex
	Roles      []string `json:"roles"`
	NodeIDs    []string `json:"node_ids,omitempty"`
	P2PAddress string   `json:"p2p_address,omitempty"`
}

// SummaryValidator is one genesis validator of a Summary.
type SummaryValidator struct {
	Name    string `json:"name"`
	Address string `json:"address"` // hex
	PubKey  string `json:"pub_key"` // hex
	Power   int64  `json:"power"`
	Member  string `json:"member"`
}

// Summarize parses and validates a genesis file (CometBFT's checks and the
// app state's) and summarises it.
func Summarize(raw []byte) (*Summary, error) {
	doc, err := cmttypes.GenesisDocFromJSON(raw)
	if err != nil {
		return nil, fmt.Errorf("genesis: %w", err)
	}
	st, err := FromDoc(doc)
	if err != nil {
		return nil, err
	}
	h := sha256.Sum256(raw)
	s := &Summary{Hash: hex.EncodeToString(h[:]), ChainID: doc.ChainID, GenesisTime: doc.GenesisTime,
		GovernorThreshold: st.Params.GovernorThreshold}
	for _, m := range st.Members {
		s.Members = append(s.Members, SummaryMember{ID: m.ID, Name: m.Name, PubKey: hex.EncodeToString(m.PubKey),
			Roles: m.Roles, NodeIDs: m.NodeIDs, P2PAddress: m.P2PAddress})
	}
	for _, v := range doc.Validators {
		s.Validators = append(s.Validators, SummaryValidator{Name: v.Name, Address: strings.ToLower(v.Address.String()),
			PubKey: hex.EncodeToString(v.PubKey.Bytes()), Power: v.Power, Member: st.ValidatorMember(v.PubKey.Bytes())})
	}
	for _, a := range st.Anchors {
		s.Anchors = append(s.Anchors, a.Kind+": "+a.Name)
	}
	return s, nil
}
