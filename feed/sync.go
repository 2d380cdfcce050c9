package feed

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/proto"

	"github.com/idledger/idledger/feed/feedpb"
)

// SyncTimeout bounds one sync exchange.
const SyncTimeout = 30 * time.Second

// Frames on a sync stream are a uvarint length and that many bytes of
// protobuf: one FeedSyncRequest, then one FeedSyncResponse.
func writeFrame(w io.Writer, b []byte) error {
	var hdr [binary.MaxVarintLen64]byte
	n := binary.PutUvarint(hdr[:], uint64(len(b)))
	if _, err := w.Write(hdr[:n]); err != nil {
		return err
	}
	_, err := w.Write(b)
	return err
}

func readFrame(r *bufio.Reader, max int) ([]byte, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return nil, err
	}
	if n > uint64(max) {
		return nil, fmt.Errorf("frame of %d bytes, over the limit of %d", n, max)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	return b, nil
}

// serveSync answers one sync request from rpc.
func serveSync(ctx context.Context, s network.Stream, rpc RPC, chainID string, log func(msg string, kv ...any)) {
	defer s.Close()
	_ = s.SetDeadline(time.Now().Add(SyncTimeout))
	resp := answerSync(ctx, s, rpc, chainID)
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(resp)
	if err == nil {
		err = writeFrame(s, b)
	}
	if err != nil {
		log("feed sync: answering", "peer", s.Conn().RemotePeer(), "err", err)
		_ = s.Reset()
	}
}

func answerSync(ctx context.Context, s network.Stream, rpc RPC, chainID string) *feedpb.FeedSyncResponse {
	raw, err := readFrame(bufio.NewReader(io.LimitReader(s, MaxSyncRequestSize+binary.MaxVarintLen64)), MaxSyncRequestSize)
	if err != nil {
		return &feedpb.FeedSyncResponse{Error: "bad request: " + err.Error()}
	}
	req := new(feedpb.FeedSyncRequest)
	if err := proto.Unmarshal(raw, req); err != nil {
		return &feedpb.FeedSyncResponse{Error: "bad request: " + err.Error()}
	}
	st, err := rpc.Status(ctx)
	if err != nil {
		return &feedpb.FeedSyncResponse{Error: "node status: " + err.Error()}
	}
	latest := st.SyncInfo.LatestBlockHeight
	resp := &feedpb.FeedSyncResponse{Latest: latest}
	switch {
	case req.ChainId != chainID:
		resp.Error = fmt.Sprintf("this node serves chain %q, not %q", chainID, req.ChainId)
		return resp
	case req.From <= 0 || req.To < req.From:
		resp.Error = fmt.Sprintf("bad range [%d, %d]", req.From, req.To)
		return resp
	}
	to := min(req.To, latest, req.From+MaxSyncUpdates-1)
	b := NewBuilder(rpc, chainID)
	size := 0
	for h := req.From; h <= to; h++ {
		u, err := b.Build(ctx, h, h == req.From)
		if err != nil {
			if len(resp.Updates) == 0 {
				resp.Error = err.Error()
			}
			break
		}
		n := proto.Size(u)
		if size+n > MaxSyncResponseSize-64<<10 {
			break
		}
		size += n
		resp.Updates = append(resp.Updates, u)
	}
	return resp
}

// Sync asks peer p for the updates of heights from..to over the sync
// protocol and returns those it sent (possibly fewer; decoded, not
// verified) and the peer's latest height.
func Sync(ctx context.Context, h host.Host, p peer.ID, chainID string, from, to int64) ([]*Update, int64, error) {
	ctx, cancel := context.WithTimeout(ctx, SyncTimeout)
	defer cancel()
	s, err := h.NewStream(ctx, p, SyncProtocol(chainID))
	if err != nil {
		return nil, 0, fmt.Errorf("feed: sync with %s: %w", p, err)
	}
	defer s.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = s.SetDeadline(dl)
	}
	req, err := proto.Marshal(&feedpb.FeedSyncRequest{ChainId: chainID, From: from, To: to})
	if err != nil {
		return nil, 0, err
	}
	if err := writeFrame(s, req); err != nil {
		_ = s.Reset()
		return nil, 0, fmt.Errorf("feed: sync with %s: %w", p, err)
	}
	_ = s.CloseWrite()
	raw, err := readFrame(bufio.NewReader(io.LimitReader(s, MaxSyncResponseSize+binary.MaxVarintLen64)), MaxSyncResponseSize)
	if err != nil {
		_ = s.Reset()
		return nil, 0, fmt.Errorf("feed: sync with %s: %w", p, err)
	}
	return DecodeSyncResponse(raw)
}

// DecodeSyncResponse decodes a sync answer: its updates decoded (not
// verified), in strictly increasing heights.
func DecodeSyncResponse(raw []byte) ([]*Update, int64, error) {
	resp := new(feedpb.FeedSyncResponse)
	if err := proto.Unmarshal(raw, resp); err != nil {
		return nil, 0, fmt.Errorf("feed: sync answer does not decode: %w", err)
	}
	if resp.Error != "" {
		return nil, resp.Latest, fmt.Errorf("feed: the peer refused: %s", resp.Error)
	}
	if len(resp.Updates) > MaxSyncUpdates {
		return nil, 0, errors.New("feed: sync answer has too many updates")
	}
	out := make([]*Update, 0, len(resp.Updates))
	for i, m := range resp.Updates {
		u, err := fromProto(m)
		if err != nil {
			return nil, 0, err
		}
		if i > 0 && u.Height != out[i-1].Height+1 {
			return nil, 0, fmt.Errorf("feed: sync answer skips from %d to %d", out[i-1].Height, u.Height)
		}
		out = append(out, u)
	}
	return out, resp.Latest, nil
}
