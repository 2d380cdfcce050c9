//go:build !linux

package pcsc

import "errors"

var errUnsupported = errors.New("pcsc: only Linux with pcsc-lite is supported")

type Context struct{}

type Card struct{}

func EstablishContext() (*Context, error)                              { return nil, errUnsupported }
func (c *Context) Release() error                                      { return errUnsupported }
func (c *Context) ListReaders() ([]string, error)                      { return nil, errUnsupported }
func (c *Context) Connect(reader string, share uintptr) (*Card, error) { return nil, errUnsupported }
func (k *Card) Reconnect(share, init uintptr) error                    { return errUnsupported }
func (k *Card) Disconnect(disposition uintptr) error                   { return errUnsupported }
func (k *Card) BeginTransaction() error                                { return errUnsupported }
func (k *Card) EndTransaction(disposition uintptr) error               { return errUnsupported }
func (k *Card) Transmit(apdu []byte) ([]byte, error)                   { return nil, errUnsupported }
