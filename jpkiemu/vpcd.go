package jpkiemu

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// DefaultVPCDPort is the TCP port of vpcd's first slot in Debian's
// /etc/reader.conf.d/vpcd (CHANNELID 0x8C7B); slot n listens on port+n.
const DefaultVPCDPort = 35963

// vpcd control messages: one byte, in a frame of length 1.
const (
	ctrlOff   = 0x00
	ctrlOn    = 0x01
	ctrlReset = 0x02
	ctrlATR   = 0x04
)

// Inserted is a card in a vpcd slot: a TCP connection to the slot's port
// on which the card answers vpcd's frames (2-byte big-endian length, then an
// APDU or a one-byte control). Closing it takes the card out of the reader.
type Inserted struct {
	card *Card
	conn net.Conn
	// RemoveOn, if set, is called with every command APDU; when it returns
	// true the card leaves the reader before answering (a card pulled out
	// mid-command).
	removeOn func(apdu []byte) bool
	logf     func(format string, args ...any)

	done    chan struct{}
	err     error
	closing sync.Once
}

// InsertOptions configure Insert.
type InsertOptions struct {
	// RemoveOn: see Inserted.
	RemoveOn func(apdu []byte) bool
	// Logf, if set, logs control messages and command headers (never the
	// data of a VERIFY).
	Logf func(format string, args ...any)
}

// Insert connects card to the vpcd slot listening on addr (host:port),
// retrying until ctx ends, and serves it in the background.
func Insert(ctx context.Context, addr string, card *Card, opts InsertOptions) (*Inserted, error) {
	var d net.Dialer
	for {
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			in := &Inserted{card: card, conn: conn, removeOn: opts.RemoveOn, logf: opts.Logf, done: make(chan struct{})}
			go in.serve()
			return in, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("jpkiemu: connecting to vpcd at %s: %w (is pcscd running with the vpcd driver?)", addr, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Remove takes the card out of the reader.
func (in *Inserted) Remove() {
	in.closing.Do(func() { in.conn.Close() })
	<-in.done
}

// Done is closed when the card has left the reader (Remove, RemoveOn, or
// vpcd closed the connection).
func (in *Inserted) Done() <-chan struct{} { return in.done }

// Err returns why the card left the reader, once Done is closed; nil after
// Remove or when vpcd closed the connection.
func (in *Inserted) Err() error { return in.err }

func (in *Inserted) log(format string, args ...any) {
	if in.logf != nil {
		in.logf(format, args...)
	}
}

func (in *Inserted) serve() {
	defer close(in.done)
	defer in.closing.Do(func() { in.conn.Close() })
	err := in.loop()
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
		in.err = err
	}
}

func (in *Inserted) loop() error {
	var hdr [2]byte
	buf := make([]byte, 0xFFFF)
	for {
		if _, err := io.ReadFull(in.conn, hdr[:]); err != nil {
			return err
		}
		n := int(binary.BigEndian.Uint16(hdr[:]))
		msg := buf[:n]
		if _, err := io.ReadFull(in.conn, msg); err != nil {
			return err
		}
		if n == 1 {
			switch msg[0] {
			case ctrlOff:
				in.log("power off")
				in.card.PowerOff()
			case ctrlOn:
				in.log("power on")
				in.card.PowerOn()
			case ctrlReset:
				in.log("reset")
				in.card.Reset()
			case ctrlATR:
				if err := in.send(in.card.ATR()); err != nil {
					return err
				}
			default:
				in.log("unknown control 0x%02X ignored", msg[0])
			}
			continue
		}
		if n >= 4 {
			in.log("APDU %X (%d bytes)", msg[:4], n)
		}
		if in.removeOn != nil && in.removeOn(msg) {
			in.log("card removed")
			clear(msg)
			return nil
		}
		resp := in.card.Process(msg)
		clear(msg)
		if err := in.send(resp); err != nil {
			return err
		}
	}
}

func (in *Inserted) send(b []byte) error {
	frame := make([]byte, 2+len(b))
	binary.BigEndian.PutUint16(frame, uint16(len(b)))
	copy(frame[2:], b)
	_, err := in.conn.Write(frame)
	return err
}
