//go:build !js && !wasip1

package devserver

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"time"
)

// SelfSigned is a certificate the dev server makes for itself when asked
// to serve HTTPS (serve -tls), so that it speaks HTTP/2 as CDNs do. No
// browser trusts it: a test browser is told to accept it by SPKI, which
// Chromium takes as --ignore-certificate-errors-spki-list=SPKI.
type SelfSigned struct {
	Cert tls.Certificate
	// PEM is the certificate, for a client that adds it to its roots.
	PEM []byte
	// SPKI is the base64 SHA-256 of the certificate's public key.
	SPKI string
}

// NewSelfSigned makes a certificate for localhost and the loopback
// addresses, and for hosts (names or IP addresses), valid for a week: a
// test server's, made anew at each start.
func NewSelfSigned(hosts ...string) (*SelfSigned, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("devserver: key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, fmt.Errorf("devserver: serial: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{Organization: []string{"resumer dev server"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(7 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("devserver: certificate: %w", err)
	}
	spki, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("devserver: public key: %w", err)
	}
	sum := sha256.Sum256(spki)
	return &SelfSigned{
		Cert: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key},
		PEM:  pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		SPKI: base64.StdEncoding.EncodeToString(sum[:]),
	}, nil
}

// TLSConfig is the server side: HTTP/2 first, HTTP/1.1 for a client that
// asks for it.
func (s *SelfSigned) TLSConfig() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{s.Cert}, NextProtos: []string{"h2", "http/1.1"}, MinVersion: tls.VersionTLS12}
}
