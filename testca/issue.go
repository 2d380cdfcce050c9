package testca

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/idledger/idledger/jpki"
)

// HolderValidity is the default validity of a holder certificate from
// IssueOptions.Now (JPKI auth certificates last five birthdays).
const HolderValidity = 5 * 365 * 24 * time.Hour

// IssueOptions describe an end-entity certificate.
type IssueOptions struct {
	// Name is the subject CN and the file stem: 1 to 64 of A-Z a-z 0-9 . _ -,
	// starting with a letter or digit.
	Name string
	// Now defaults to time.Now().
	Now time.Time
	// NotBefore and NotAfter default to Now-1h and Now+HolderValidity. Set
	// both in the past for an expired card.
	NotBefore, NotAfter time.Time
	// Profile is jpki.KindAuth (the default) or jpki.KindSign, which adds
	// fake personal data as subjectAltName otherNames, the signing policy
	// and nonRepudiation. The CA's own kind does not restrict it, so tests
	// can make wrong-kind certificates.
	Profile jpki.Kind
	// KeyBits defaults to 2048; 1024 makes a weak-key certificate.
	KeyBits int
	// SHA1 signs with sha1WithRSAEncryption, for the bad-algorithm case.
	SHA1 bool
	// Key, if set, is the holder's key (KeyBits is then ignored).
	Key *rsa.PrivateKey
}

// Holder is a test card holder: a certificate and its key.
type Holder struct {
	Name    string
	Cert    *x509.Certificate
	CertDER []byte
	Key     *rsa.PrivateKey
	// CertPath and KeyPath are the holder's files; "" for an in-memory CA.
	CertPath, KeyPath string
}

var validName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Issue issues an end-entity certificate: C=JP, CN=Name, the JPKI policy of
// the profile (critical), keyUsage digitalSignature (critical), subject and
// authority key identifiers, sha256WithRSAEncryption, and a random positive
// 8-byte serial unique within the CA. A directory-backed CA writes
// holders/NAME.crt and holders/NAME.key and refuses a name already issued.
func (ca *CA) Issue(opts IssueOptions) (*Holder, error) {
	if !validName.MatchString(opts.Name) {
		return nil, fmt.Errorf("testca: bad holder name %q: want 1 to 64 of A-Z a-z 0-9 . _ - starting with a letter or digit", opts.Name)
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	if opts.NotBefore.IsZero() {
		opts.NotBefore = opts.Now.Add(-time.Hour)
	}
	if opts.NotAfter.IsZero() {
		opts.NotAfter = opts.Now.Add(HolderValidity)
	}
	if opts.NotAfter.Before(opts.NotBefore) {
		return nil, fmt.Errorf("testca: NotAfter %v is before NotBefore %v", opts.NotAfter, opts.NotBefore)
	}
	if opts.Profile == jpki.KindUnknown {
		opts.Profile = jpki.KindAuth
	}
	if opts.KeyBits == 0 {
		opts.KeyBits = 2048
	}

	var certPath, keyPath string
	if ca.Dir != "" {
		certPath = filepath.Join(ca.Dir, HoldersDir, opts.Name+".crt")
		keyPath = filepath.Join(ca.Dir, HoldersDir, opts.Name+".key")
		for _, p := range []string{certPath, keyPath} {
			if _, err := os.Lstat(p); err == nil {
				return nil, fmt.Errorf("testca: holder %q already exists (%s); refusing to overwrite it", opts.Name, p)
			}
		}
	}

	key := opts.Key
	if key == nil {
		var err error
		if key, err = rsa.GenerateKey(ca.randReader(), opts.KeyBits); err != nil {
			return nil, fmt.Errorf("testca: generating holder key: %w", err)
		}
	}

	tmpl, err := holderTemplate(opts, key)
	if err != nil {
		return nil, err
	}

	ca.mu.Lock()
	defer ca.mu.Unlock()
	if ca.index.serials == nil {
		ca.index = newIndex(ca.kind)
	}
	for try := 0; tmpl.SerialNumber == nil; try++ {
		if try == 16 {
			return nil, fmt.Errorf("testca: the random source keeps repeating issued serial numbers")
		}
		serial, err := randomSerial(ca.randReader())
		if err != nil {
			return nil, err
		}
		if !ca.index.serials[serial.Text(16)] {
			tmpl.SerialNumber = serial
		}
	}
	var signer crypto.Signer = ca.Key
	if ca.Signer != nil {
		signer = ca.Signer
	}
	der, err := x509.CreateCertificate(ca.randReader(), tmpl, ca.Cert, &key.PublicKey, signer)
	if err != nil {
		return nil, fmt.Errorf("testca: creating holder certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("testca: parsing holder certificate: %w", err)
	}
	h := &Holder{Name: opts.Name, Cert: cert, CertDER: der, Key: key, CertPath: certPath, KeyPath: keyPath}

	if ca.Dir != "" {
		keyPEM, err := keyToPEM(key)
		if err != nil {
			return nil, err
		}
		if err := writeNew(keyPath, keyPEM, 0o600); err != nil {
			return nil, err
		}
		if err := writeNew(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
			os.Remove(keyPath)
			return nil, err
		}
	}
	ca.index.Issued = append(ca.index.Issued, indexEntry{
		Serial:    cert.SerialNumber.Text(16),
		Name:      opts.Name,
		Profile:   opts.Profile.String(),
		NotBefore: cert.NotBefore,
		NotAfter:  cert.NotAfter,
	})
	ca.index.serials[cert.SerialNumber.Text(16)] = true
	if err := ca.saveIndex(); err != nil {
		return nil, err
	}
	return h, nil
}

func (ca *CA) randReader() io.Reader {
	if ca.rand == nil {
		return rand.Reader
	}
	return ca.rand
}

func holderTemplate(opts IssueOptions, key *rsa.PrivateKey) (*x509.Certificate, error) {
	subject, err := asn1.Marshal(pkixName(opts.Name))
	if err != nil {
		return nil, fmt.Errorf("testca: encoding holder name: %w", err)
	}
	tmpl := &x509.Certificate{
		RawSubject:         subject,
		NotBefore:          opts.NotBefore.UTC().Truncate(time.Second),
		NotAfter:           opts.NotAfter.UTC().Truncate(time.Second),
		SubjectKeyId:       keyID(&key.PublicKey),
		SignatureAlgorithm: x509.SHA256WithRSA,
	}
	if opts.SHA1 {
		tmpl.SignatureAlgorithm = x509.SHA1WithRSA
	}
	var policy asn1.ObjectIdentifier
	switch opts.Profile {
	case jpki.KindAuth:
		policy = jpki.OIDAuthPolicy
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	case jpki.KindSign:
		policy = jpki.OIDSignPolicy
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment
		san, err := personalDataSAN(opts.Name)
		if err != nil {
			return nil, err
		}
		tmpl.ExtraExtensions = append(tmpl.ExtraExtensions, san)
	default:
		return nil, fmt.Errorf("testca: unknown profile %v", opts.Profile)
	}
	pol, err := certificatePolicies(policy)
	if err != nil {
		return nil, err
	}
	tmpl.ExtraExtensions = append(tmpl.ExtraExtensions, pol)
	return tmpl, nil
}

// LoadHolder reads the holder name of the CA in dir.
func LoadHolder(dir, name string) (*Holder, error) {
	if !validName.MatchString(name) {
		return nil, fmt.Errorf("testca: bad holder name %q", name)
	}
	certPath := filepath.Join(dir, HoldersDir, name+".crt")
	keyPath := filepath.Join(dir, HoldersDir, name+".key")
	der, err := readPEM(certPath, "CERTIFICATE")
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("testca: %s: %w", certPath, err)
	}
	key, err := loadKey(keyPath)
	if err != nil {
		return nil, err
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("testca: %s does not match %s", keyPath, certPath)
	}
	return &Holder{Name: name, Cert: cert, CertDER: der, Key: key, CertPath: certPath, KeyPath: keyPath}, nil
}
