//go:build linux

package pcsc

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"sync"

	"github.com/ebitengine/purego"
)

// Library names tried in order.
var libNames = []string{"libpcsclite.so.1", "libpcsclite.so"}

type ioRequest struct {
	protocol uintptr
	pciLen   uintptr
}

var (
	loadOnce sync.Once
	loadErr  error

	scardEstablishContext func(scope uintptr, r1, r2 uintptr, ctx *uintptr) uintptr
	scardReleaseContext   func(ctx uintptr) uintptr
	scardListReaders      func(ctx uintptr, groups *byte, readers *byte, n *uintptr) uintptr
	scardConnect          func(ctx uintptr, reader *byte, share, protocols uintptr, card *uintptr, active *uintptr) uintptr
	scardReconnect        func(card uintptr, share, protocols, init uintptr, active *uintptr) uintptr
	scardDisconnect       func(card uintptr, disposition uintptr) uintptr
	scardBeginTransaction func(card uintptr) uintptr
	scardEndTransaction   func(card uintptr, disposition uintptr) uintptr
	scardTransmit         func(card uintptr, send *ioRequest, sbuf *byte, slen uintptr, recv *ioRequest, rbuf *byte, rlen *uintptr) uintptr
)

func load() error {
	loadOnce.Do(func() {
		var lib uintptr
		var errs []error
		for _, name := range libNames {
			h, err := purego.Dlopen(name, purego.RTLD_NOW|purego.RTLD_GLOBAL)
			if err == nil {
				lib = h
				break
			}
			errs = append(errs, err)
		}
		if lib == 0 {
			loadErr = fmt.Errorf("pcsc: cannot load libpcsclite.so.1 (on Debian: apt-get install libpcsclite1 pcscd): %w", errors.Join(errs...))
			return
		}
		defer func() {
			if r := recover(); r != nil {
				loadErr = fmt.Errorf("pcsc: libpcsclite lacks a function: %v", r)
			}
		}()
		purego.RegisterLibFunc(&scardEstablishContext, lib, "SCardEstablishContext")
		purego.RegisterLibFunc(&scardReleaseContext, lib, "SCardReleaseContext")
		purego.RegisterLibFunc(&scardListReaders, lib, "SCardListReaders")
		purego.RegisterLibFunc(&scardConnect, lib, "SCardConnect")
		purego.RegisterLibFunc(&scardReconnect, lib, "SCardReconnect")
		purego.RegisterLibFunc(&scardDisconnect, lib, "SCardDisconnect")
		purego.RegisterLibFunc(&scardBeginTransaction, lib, "SCardBeginTransaction")
		purego.RegisterLibFunc(&scardEndTransaction, lib, "SCardEndTransaction")
		purego.RegisterLibFunc(&scardTransmit, lib, "SCardTransmit")
	})
	return loadErr
}

func check(rv uintptr) error {
	if uint32(rv) == 0 {
		return nil
	}
	return Error(uint32(rv))
}

// Context is a PC/SC context. It is not safe for concurrent use.
type Context struct {
	h uintptr
}

// EstablishContext loads libpcsclite and connects to pcscd. The socket is
// libpcsclite's choice: /run/pcscd/pcscd.comm, or $PCSCLITE_CSOCK_NAME.
func EstablishContext() (*Context, error) {
	if err := load(); err != nil {
		return nil, err
	}
	var h uintptr
	if err := check(scardEstablishContext(ScopeSystem, 0, 0, &h)); err != nil {
		return nil, err
	}
	return &Context{h: h}, nil
}

// Release ends the context.
func (c *Context) Release() error {
	return check(scardReleaseContext(c.h))
}

// ListReaders returns the readers' names. No reader is an empty list, not
// an error.
func (c *Context) ListReaders() ([]string, error) {
	// maxReaderList bounds the buffer pcscd sizes: pcsc-lite allows 16
	// readers of at most 128 bytes each.
	const maxReaderList = 64 << 10
	for range 3 { // the list may grow between the two calls
		var n uintptr
		err := check(scardListReaders(c.h, nil, nil, &n))
		if err == ErrNoReadersAvailable {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, nil
		}
		if n > maxReaderList {
			return nil, fmt.Errorf("pcsc: pcscd reports a reader list of %d bytes, more than %d", n, maxReaderList)
		}
		buf := make([]byte, n)
		err = check(scardListReaders(c.h, nil, &buf[0], &n))
		if err == ErrInsufficientBuffer {
			continue
		}
		if err == ErrNoReadersAvailable {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		var names []string
		for _, s := range bytes.Split(buf[:min(int(n), len(buf))], []byte{0}) {
			if len(s) > 0 {
				names = append(names, string(s))
			}
		}
		return names, nil
	}
	return nil, ErrInsufficientBuffer
}

// Card is a connection to the card in one reader.
type Card struct {
	h        uintptr
	protocol uintptr
	recv     []byte
}

// Connect connects to the card in reader.
func (c *Context) Connect(reader string, share uintptr) (*Card, error) {
	name := append([]byte(reader), 0)
	var h, proto uintptr
	err := check(scardConnect(c.h, &name[0], share, ProtocolAny, &h, &proto))
	runtime.KeepAlive(name)
	if err != nil {
		return nil, err
	}
	return &Card{h: h, protocol: proto, recv: make([]byte, 258)}, nil
}

// Reconnect re-establishes the connection after a reset, with init as the
// disposition (LeaveCard, ResetCard).
func (k *Card) Reconnect(share, init uintptr) error {
	var proto uintptr
	if err := check(scardReconnect(k.h, share, ProtocolAny, init, &proto)); err != nil {
		return err
	}
	k.protocol = proto
	return nil
}

// Disconnect ends the connection, doing disposition to the card.
func (k *Card) Disconnect(disposition uintptr) error {
	clear(k.recv)
	return check(scardDisconnect(k.h, disposition))
}

// BeginTransaction locks the card for this connection.
func (k *Card) BeginTransaction() error { return check(scardBeginTransaction(k.h)) }

// EndTransaction unlocks it.
func (k *Card) EndTransaction(disposition uintptr) error {
	return check(scardEndTransaction(k.h, disposition))
}

// Transmit sends a short APDU and returns the response (data and status
// word). The returned slice is the caller's; the internal receive buffer is
// wiped.
func (k *Card) Transmit(apdu []byte) ([]byte, error) {
	if len(apdu) == 0 {
		return nil, errors.New("pcsc: empty APDU")
	}
	pci := &ioRequest{protocol: k.protocol, pciLen: 16}
	n := uintptr(len(k.recv))
	err := check(scardTransmit(k.h, pci, &apdu[0], uintptr(len(apdu)), nil, &k.recv[0], &n))
	runtime.KeepAlive(apdu)
	runtime.KeepAlive(pci)
	if err != nil {
		return nil, err
	}
	if n > uintptr(len(k.recv)) {
		return nil, ErrInsufficientBuffer
	}
	out := bytes.Clone(k.recv[:n])
	clear(k.recv[:n])
	return out, nil
}
