package testca

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/idledger/idledger/internal/atomicfile"
	"github.com/idledger/idledger/jpki"
)

// File names inside a CA directory.
const (
	CertFile   = "ca.crt"
	KeyFile    = "ca.key"
	IndexFile  = "index.json"
	HoldersDir = "holders"
)

// CAValidity is how long a test CA is valid from InitOptions.Now.
const CAValidity = 10 * 365 * 24 * time.Hour

// CA is a test JPKI certification authority.
type CA struct {
	Cert    *x509.Certificate
	CertDER []byte
	Key     *rsa.PrivateKey
	// Signer, if set, signs the holder certificates Issue makes in place of
	// Key; its public key must be Key's. Benchmarks set a faster signer of
	// the same key (internal/fastrsa): the certificates are the same bytes.
	Signer crypto.Signer
	// Dir is the CA's directory; "" for an in-memory CA.
	Dir string

	mu    sync.Mutex
	rand  io.Reader
	index index
	kind  jpki.Kind
}

// InitOptions configure a new CA.
type InitOptions struct {
	// Now is the CA's issue time; zero means time.Now(). The CA is valid
	// from an hour before Now for ten years (CAValidity).
	Now time.Time
	// Kind is jpki.KindAuth (the default) for a "JPKI for user
	// authentication TEST" CA, or jpki.KindSign for a "JPKI for digital
	// signature TEST" CA.
	Kind jpki.Kind
	// Rand is the source of serial numbers and the CA name tag; nil means
	// crypto/rand. Since Go 1.26 RSA key generation always uses crypto/rand.
	Rand io.Reader
	// Key, if set, is used as the CA key instead of a new RSA-2048 key (tests
	// reuse keys because generating them is slow).
	Key *rsa.PrivateKey
}

var (
	oidCountry = asn1.ObjectIdentifier{2, 5, 4, 6}
	oidOrg     = asn1.ObjectIdentifier{2, 5, 4, 10}
	oidOrgUnit = asn1.ObjectIdentifier{2, 5, 4, 11}
	oidCN      = asn1.ObjectIdentifier{2, 5, 4, 3}
)

// New makes an in-memory CA, for tests.
func New(opts InitOptions) (*CA, error) {
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	if opts.Kind == jpki.KindUnknown {
		opts.Kind = jpki.KindAuth
	}
	var ou string
	switch opts.Kind {
	case jpki.KindAuth:
		ou = jpki.OUAuth + jpki.TestSuffix
	case jpki.KindSign:
		ou = jpki.OUSign + jpki.TestSuffix
	default:
		return nil, fmt.Errorf("testca: unknown CA kind %v", opts.Kind)
	}
	key := opts.Key
	if key == nil {
		var err error
		if key, err = rsa.GenerateKey(opts.Rand, 2048); err != nil {
			return nil, fmt.Errorf("testca: generating CA key: %w", err)
		}
	}
	var tag [4]byte
	if _, err := io.ReadFull(opts.Rand, tag[:]); err != nil {
		return nil, fmt.Errorf("testca: reading random: %w", err)
	}
	subject, err := asn1.Marshal(pkix.RDNSequence{
		{{Type: oidCountry, Value: printable("JP")}},
		{{Type: oidOrg, Value: utf8("JPKI TEST")}},
		{{Type: oidOrgUnit, Value: utf8(ou)}},
		{{Type: oidOrgUnit, Value: utf8("idledger TEST CA " + hex.EncodeToString(tag[:]) + ", not J-LIS")}},
	})
	if err != nil {
		return nil, fmt.Errorf("testca: encoding CA name: %w", err)
	}
	serial, err := randomSerial(opts.Rand)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		RawSubject:            subject,
		NotBefore:             opts.Now.Add(-time.Hour).UTC().Truncate(time.Second),
		NotAfter:              opts.Now.Add(CAValidity).UTC().Truncate(time.Second),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		SubjectKeyId:          keyID(&key.PublicKey),
		SignatureAlgorithm:    x509.SHA256WithRSA,
	}
	der, err := x509.CreateCertificate(opts.Rand, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("testca: creating CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("testca: parsing CA certificate: %w", err)
	}
	return &CA{Cert: cert, CertDER: der, Key: key, rand: opts.Rand, kind: opts.Kind, index: newIndex(opts.Kind)}, nil
}

// Init makes a new CA in dir, creating dir (mode 0700) if needed. It refuses
// a dir that already holds a CA.
func Init(dir string, opts InitOptions) (*CA, error) {
	if dir == "" {
		return nil, errors.New("testca: no CA directory given")
	}
	for _, f := range []string{CertFile, KeyFile, IndexFile} {
		if _, err := os.Lstat(filepath.Join(dir, f)); err == nil {
			return nil, fmt.Errorf("testca: %s already holds a CA (%s exists); refusing to overwrite it", dir, f)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("testca: %w", err)
		}
	}
	ca, err := New(opts)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, HoldersDir), 0o700); err != nil {
		return nil, fmt.Errorf("testca: %w", err)
	}
	keyPEM, err := keyToPEM(ca.Key)
	if err != nil {
		return nil, err
	}
	if err := writeNew(filepath.Join(dir, KeyFile), keyPEM, 0o600); err != nil {
		return nil, err
	}
	if err := writeNew(filepath.Join(dir, CertFile), ca.CertPEM(), 0o644); err != nil {
		os.Remove(filepath.Join(dir, KeyFile))
		return nil, err
	}
	ca.Dir = dir
	if err := ca.saveIndex(); err != nil {
		os.Remove(filepath.Join(dir, KeyFile))
		os.Remove(filepath.Join(dir, CertFile))
		return nil, err
	}
	return ca, nil
}

// Load opens the CA in dir. Serial numbers come from crypto/rand.
func Load(dir string) (*CA, error) {
	certDER, err := readPEM(filepath.Join(dir, CertFile), "CERTIFICATE")
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(certDER)
	if err != nil {
		return nil, fmt.Errorf("testca: %s: %w", filepath.Join(dir, CertFile), err)
	}
	key, err := loadKey(filepath.Join(dir, KeyFile))
	if err != nil {
		return nil, err
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("testca: %s does not match %s", KeyFile, CertFile)
	}
	anchor, err := jpki.ParseAnchor(certDER)
	if err != nil {
		return nil, fmt.Errorf("testca: %s: %w", filepath.Join(dir, CertFile), err)
	}
	ca := &CA{Cert: cert, CertDER: certDER, Key: key, Dir: dir, rand: rand.Reader, kind: anchor.Kind}
	if err := ca.loadIndex(); err != nil {
		return nil, err
	}
	return ca, nil
}

// Kind is the CA's kind: jpki.KindAuth or jpki.KindSign.
func (ca *CA) Kind() jpki.Kind { return ca.kind }

// CertPEM returns the CA certificate as PEM, for a genesis file.
func (ca *CA) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.CertDER})
}

// Anchor returns the CA certificate as a jpki trust anchor.
func (ca *CA) Anchor() (*jpki.Anchor, error) { return jpki.ParseAnchor(ca.CertDER) }

func printable(s string) asn1.RawValue {
	return asn1.RawValue{Tag: asn1.TagPrintableString, Bytes: []byte(s)}
}

func utf8(s string) asn1.RawValue {
	return asn1.RawValue{Tag: asn1.TagUTF8String, Bytes: []byte(s)}
}

// randomSerial returns a positive serial number of exactly 8 bytes (62
// random bits).
func randomSerial(r io.Reader) (*big.Int, error) {
	var b [8]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return nil, fmt.Errorf("testca: reading random: %w", err)
	}
	b[0] = b[0]&0x3f | 0x40 // positive, always 8 bytes, never zero
	return new(big.Int).SetBytes(b[:]), nil
}

// keyID is the RFC 5280 method-1 key identifier: SHA-1 of the
// subjectPublicKey bits, which for RSA are the PKCS#1 public key.
func keyID(pub *rsa.PublicKey) []byte {
	h := sha1.Sum(x509.MarshalPKCS1PublicKey(pub))
	return h[:]
}

func keyToPEM(key *rsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("testca: encoding key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// writeNew writes a file that must not exist yet.
func writeNew(path string, data []byte, perm os.FileMode) error {
	if err := atomicfile.WriteNew(path, data, perm); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("testca: %s already exists; refusing to overwrite it", path)
		}
		return fmt.Errorf("testca: writing %s: %w", path, err)
	}
	return nil
}

func readPEM(path, typ string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("testca: %w", err)
	}
	block, rest := pem.Decode(data)
	if block == nil || block.Type != typ || len(bytes.TrimSpace(rest)) != 0 {
		return nil, fmt.Errorf("testca: %s: want exactly one PEM %s block", path, typ)
	}
	return block.Bytes, nil
}

func loadKey(path string) (*rsa.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("testca: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("testca: %s: no PEM block", path)
	}
	switch block.Type {
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("testca: %s: %w", path, err)
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("testca: %s: not an RSA key", path)
		}
		return rk, nil
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("testca: %s: %w", path, err)
		}
		return k, nil
	default:
		return nil, fmt.Errorf("testca: %s: PEM block %q is not a private key", path, block.Type)
	}
}
