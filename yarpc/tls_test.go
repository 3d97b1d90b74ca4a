package yarpc

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// testPKI is a CA with a server and a client certificate, made at run time.
type testPKI struct {
	pool   *x509.CertPool
	server tls.Certificate
	client tls.Certificate
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "yarpc test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	ca, err := x509.ParseCertificate(caDER)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(ca)

	leaf := func(serial int64, name string, usage x509.ExtKeyUsage) tls.Certificate {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial),
			Subject:      pkix.Name{CommonName: name},
			NotBefore:    time.Now().Add(-time.Hour),
			NotAfter:     time.Now().Add(time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{usage},
			IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
			DNSNames:     []string{"localhost"},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		require.NoError(t, err)
		return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	}
	return &testPKI{
		pool:   pool,
		server: leaf(2, "server", x509.ExtKeyUsageServerAuth),
		client: leaf(3, "client", x509.ExtKeyUsageClientAuth),
	}
}

func TestTLS(t *testing.T) {
	pki := newTestPKI(t)
	ts := startServer(t, echoServer(), WithTLS(&tls.Config{Certificates: []tls.Certificate{pki.server}}))
	cc := ts.dial(t, WithTLS(&tls.Config{RootCAs: pki.pool}))
	out, err := unary(context.Background(), cc, "unary", &binMsg{N: 1})
	require.NoError(t, err)
	require.Equal(t, uint64(2), out.N)

	// A client that does not trust the server's CA fails the handshake.
	untrusting := ts.dial(t, WithTLS(&tls.Config{RootCAs: x509.NewCertPool()}))
	_, err = untrusting.OpenStream(context.Background(), "unary")
	require.ErrorContains(t, err, "tls handshake")

	// A plain client gets nowhere and the server keeps serving.
	plain := ts.dial(t)
	_, err = unary(context.Background(), plain, "unary", &binMsg{})
	require.Error(t, err)
	_, err = unary(context.Background(), cc, "unary", &binMsg{N: 1})
	require.NoError(t, err)
}

func TestMutualTLS(t *testing.T) {
	pki := newTestPKI(t)
	ts := startServer(t, echoServer(), WithTLS(&tls.Config{
		Certificates: []tls.Certificate{pki.server},
		ClientCAs:    pki.pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
	}))
	cc := ts.dial(t, WithTLS(&tls.Config{RootCAs: pki.pool, Certificates: []tls.Certificate{pki.client}}))
	out, err := unary(context.Background(), cc, "unary", &binMsg{N: 1})
	require.NoError(t, err)
	require.Equal(t, uint64(2), out.N)

	// Without a client certificate the server refuses the connection. With
	// TLS 1.3 the client learns it at its first read, not in the handshake.
	anon := ts.dial(t, WithTLS(&tls.Config{RootCAs: pki.pool}))
	_, err = unary(context.Background(), anon, "unary", &binMsg{})
	require.Error(t, err)
}
