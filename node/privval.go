package node

import (
	"fmt"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/libs/log"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
)

// SignerWait is how long a node with priv_validator_laddr waits at start
// for a remote signer to connect and give its public key.
var SignerWait = 30 * time.Second

// remoteSigner listens on the config's priv_validator_laddr for a remote
// signer (idledger signer run, tmkms, horcrux) and waits up to SignerWait
// for it to answer. The node makes the listener itself, rather than leave
// it to CometBFT, so that it can wait longer than CometBFT's few seconds
// and close the listener when it stops (CometBFT v0.40 does not).
func remoteSigner(c *cmtcfg.Config, chainID string, nodeKey *p2p.NodeKey, logger log.Logger) (*privval.RetrySignerClient, *privval.SignerListenerEndpoint, error) {
	laddr := c.PrivValidatorListenAddr
	pve, err := privval.NewSignerListenerFromAddr(laddr, nodeKey.PrivKey, logger)
	if err != nil {
		return nil, nil, fmt.Errorf("node: priv_validator_laddr %s: %w", laddr, err)
	}
	client, err := privval.NewSignerClient(pve, chainID) // starts pve
	if err != nil {
		_ = pve.Stop()
		return nil, nil, fmt.Errorf("node: priv_validator_laddr %s: %w", laddr, err)
	}
	logger.Info("waiting for the remote signer", "priv_validator_laddr", laddr)
	deadline := time.Now().Add(SignerWait)
	for {
		pub, err := client.GetPubKey()
		if err == nil {
			logger.Info("remote signer connected", "validator", pub.Address().String())
			break
		}
		if time.Now().After(deadline) {
			_ = pve.Stop()
			return nil, nil, fmt.Errorf("node: no remote signer answered on priv_validator_laddr %s within %s (%v): start one, e.g. idledger signer run --node %s",
				laddr, SignerWait, err, laddr)
		}
	}
	return privval.NewRetrySignerClient(client, 50, 100*time.Millisecond), pve, nil
}
