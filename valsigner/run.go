package valsigner

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/cometbft/cometbft/libs/log"
	"github.com/cometbft/cometbft/libs/protoio"
	"github.com/cometbft/cometbft/privval"
	privvalproto "github.com/cometbft/cometbft/proto/tendermint/privval"
)

// Defaults of RunOptions.
const (
	DefaultRetryWait = 500 * time.Millisecond
	DefaultTimeout   = 5 * time.Second
)

// RunOptions configure Run.
type RunOptions struct {
	// Node is the node's priv_validator_laddr: tcp://HOST:PORT or
	// unix:///path.
	Node string
	// ChainID is the chain the signer signs for; requests for any other
	// chain are refused.
	ChainID string
	// Signer signs.
	Signer *Signer
	// Logger receives the signer's logs (nil: none).
	Logger log.Logger
	// RetryWait is the pause between dial attempts (DefaultRetryWait).
	RetryWait time.Duration
	// Timeout bounds one read or write on the connection (DefaultTimeout).
	Timeout time.Duration
}

// ParseAddr splits a priv_validator_laddr-style address into network and
// address: tcp://HOST:PORT or unix:///PATH (unix://PATH too).
func ParseAddr(s string) (network, addr string, err error) {
	proto, rest, ok := strings.Cut(s, "://")
	if !ok || rest == "" {
		return "", "", fmt.Errorf("valsigner: node address %q: want tcp://HOST:PORT or unix:///PATH", s)
	}
	switch proto {
	case "tcp":
		if _, _, err := net.SplitHostPort(rest); err != nil {
			return "", "", fmt.Errorf("valsigner: node address %q: %v", s, err)
		}
	case "unix":
	default:
		return "", "", fmt.Errorf("valsigner: node address %q: want tcp:// or unix://, not %s://", s, proto)
	}
	return proto, rest, nil
}

// Run dials the node and answers its privval requests until ctx is done.
// It keeps redialling while the node is not up and after the node drops the
// connection (a node restart). TCP connections are encrypted and
// authenticated with CometBFT's secret connection under a fresh key; a unix
// socket is plain, protected by its file permissions.
func Run(ctx context.Context, o RunOptions) error {
	network, addr, err := ParseAddr(o.Node)
	if err != nil {
		return err
	}
	if o.Signer == nil {
		return fmt.Errorf("valsigner: no signer")
	}
	if o.Logger == nil {
		o.Logger = log.NewNopLogger()
	}
	if o.RetryWait <= 0 {
		o.RetryWait = DefaultRetryWait
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	var dial privval.SocketDialer
	if network == "tcp" {
		dial = privval.DialTCPFn(addr, o.Timeout, ed25519.GenPrivKey())
	} else {
		dial = privval.DialUnixFn(addr)
	}
	pub, _ := o.Signer.GetPubKey()
	o.Logger.Info("signer running", "node", o.Node, "chain_id", o.ChainID, "validator", pub.Address().String())
	waiting := false
	for ctx.Err() == nil {
		conn, err := dial()
		if err != nil {
			if !waiting {
				o.Logger.Info("waiting for the node; redialling", "node", o.Node, "err", err)
				waiting = true
			}
			select {
			case <-ctx.Done():
			case <-time.After(o.RetryWait):
			}
			continue
		}
		waiting = false
		o.Logger.Info("connected to the node", "node", o.Node)
		err = serveConn(ctx, conn, o)
		if ctx.Err() == nil {
			o.Logger.Info("connection to the node ended; redialling", "err", err)
		}
	}
	return nil
}

// idleTimeout is how long a connection may stay silent before the signer
// drops it and redials: the node pings its signer every few seconds.
const idleTimeout = 30 * time.Second

// maxMsgSize bounds one privval message (CometBFT uses 10 KiB).
const maxMsgSize = 10 * 1024

// serveConn answers requests on conn until it fails or ctx is done.
func serveConn(ctx context.Context, conn net.Conn, o RunOptions) error {
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	defer conn.Close()
	r := protoio.NewDelimitedReader(conn, maxMsgSize)
	w := protoio.NewDelimitedWriter(conn)
	for {
		if err := conn.SetReadDeadline(time.Now().Add(idleTimeout)); err != nil {
			return err
		}
		var req privvalproto.Message
		if _, err := r.ReadMsg(&req); err != nil {
			return err
		}
		res, err := privval.DefaultValidationRequestHandler(o.Signer, req, o.ChainID)
		if err != nil {
			o.Logger.Error("refused a request", "err", err)
		}
		logRefusal(o.Logger, res)
		if res.Sum == nil {
			return fmt.Errorf("valsigner: unknown request %T", req.Sum)
		}
		if err := conn.SetWriteDeadline(time.Now().Add(o.Timeout)); err != nil {
			return err
		}
		if _, err := w.WriteMsg(&res); err != nil {
			return err
		}
	}
}

// logRefusal logs a signature the signer refused (double-sign protection).
func logRefusal(l log.Logger, res privvalproto.Message) {
	switch r := res.Sum.(type) {
	case *privvalproto.Message_SignedVoteResponse:
		if r.SignedVoteResponse.Error != nil {
			l.Error("refused to sign a vote", "err", r.SignedVoteResponse.Error.Description)
		}
	case *privvalproto.Message_SignedProposalResponse:
		if r.SignedProposalResponse.Error != nil {
			l.Error("refused to sign a proposal", "err", r.SignedProposalResponse.Error.Description)
		}
	}
}
