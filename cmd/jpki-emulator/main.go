// Command jpki-emulator is a virtual My Number Card (or Android GP-SE) for
// trying idledger-signer-gpse without hardware. It connects to the vpcd
// virtual reader of a running pcscd (Debian's vsmartcard-vpcd) and answers
// as the JPKI applet with the given key and certificate:
//
//	jpki-emulator --cert holder.crt --key holder.key --pin 1234 [--gpse] [--port 35963]
//
// The key signs with raw RSA PKCS#1 v1.5 over the DigestInfo it is sent,
// like the chip. Ctrl-C takes the card out.
package main

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"strconv"
	"time"

	"github.com/idledger/idledger/jpkiemu"
)

func main() {
	certFile := flag.String("cert", "", "the user-authentication certificate (PEM or DER)")
	keyFile := flag.String("key", "", "its RSA private key (PEM, PKCS#1 or PKCS#8)")
	caFile := flag.String("ca", "", "optional: the CA certificate for EF 000B (PEM or DER)")
	pin := flag.String("pin", "", "the 4-digit user-authentication PIN")
	gpse := flag.Bool("gpse", false, "answer as an Android phone's GP-SE (JPKIAPGPSETOKEN; the certificate needs the PIN)")
	tries := flag.Int("tries", 3, "PIN tries before blocking")
	host := flag.String("host", "127.0.0.1", "vpcd's host")
	port := flag.Int("port", jpkiemu.DefaultVPCDPort, "vpcd's port (35963 is the first slot of Debian's /etc/reader.conf.d/vpcd, 35964 the second)")
	verbose := flag.Bool("v", false, "log control messages and APDU headers")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("jpki-emulator: ")
	if *certFile == "" || *keyFile == "" || *pin == "" || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	cert, err := readDER(*certFile, "CERTIFICATE")
	if err != nil {
		log.Fatal(err)
	}
	key, err := readKey(*keyFile)
	if err != nil {
		log.Fatal(err)
	}
	var ca []byte
	if *caFile != "" {
		if ca, err = readDER(*caFile, "CERTIFICATE"); err != nil {
			log.Fatal(err)
		}
	}
	card, err := jpkiemu.New(jpkiemu.Options{Key: key, CertDER: cert, CADER: ca, PIN: []byte(*pin), GPSE: *gpse, Tries: *tries})
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	addr := net.JoinHostPort(*host, strconv.Itoa(*port))
	opts := jpkiemu.InsertOptions{}
	if *verbose {
		opts.Logf = log.Printf
	}
	kind := "My Number Card"
	if *gpse {
		kind = "Android GP-SE"
	}
	for {
		log.Printf("waiting for vpcd on %s", addr)
		in, err := jpkiemu.Insert(ctx, addr, card, opts)
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return
			}
			log.Fatal(err)
		}
		log.Printf("%s inserted (PIN tries left: %d)", kind, card.TriesLeft())
		select {
		case <-ctx.Done():
			in.Remove()
			log.Print("card removed")
			return
		case <-in.Done():
			log.Printf("vpcd closed the connection (%v); reconnecting", in.Err())
			time.Sleep(time.Second)
		}
	}
}

func readDER(path, typ string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if blk, _ := pem.Decode(b); blk != nil {
		if blk.Type != typ {
			return nil, fmt.Errorf("%s: PEM block %q, want %q", path, blk.Type, typ)
		}
		return blk.Bytes, nil
	}
	return b, nil
}

func readKey(path string) (*rsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("%s: no PEM block", path)
	}
	if k, err := x509.ParsePKCS1PrivateKey(blk.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: not an RSA key", path)
	}
	return rk, nil
}
