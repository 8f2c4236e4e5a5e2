package natsbus_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"

	"hotrow/internal/testnats"
	"hotrow/rooms"
	"hotrow/rooms/bus/natsbus"
)

// roundTrip checks that two buses made with cfg connect and carry an event
// from one to the other through the server (a bus does not get its own).
func roundTrip(t *testing.T, cfg natsbus.Config) {
	t.Helper()
	b, sub := connect(t, cfg), connect(t, cfg)
	waitFor(t, "the connections", func() bool { return b.Up() && sub.Up() })
	var got inbox
	if _, err := sub.SubscribeEvents("auction:auth", got.add); err != nil {
		t.Fatal(err)
	}
	// Published until received: the subscription reaches the server
	// asynchronously.
	waitFor(t, "the event", func() bool {
		if err := b.PublishEvent(rooms.BusEvent{Room: "auction:auth", Version: 1, Frame: []byte("{}"), Sent: time.Now()}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
		return got.len() > 0
	})
}

// refused checks that a bus made with cfg never connects.
func refused(t *testing.T, cfg natsbus.Config) {
	t.Helper()
	b := connect(t, cfg)
	time.Sleep(100 * time.Millisecond)
	if b.Up() {
		t.Fatal("connected with wrong credentials")
	}
}

func TestUserPassword(t *testing.T) {
	ns := testnats.Start(t, func(o *server.Options) { o.Username, o.Password = "hub", "s3cret" })
	roundTrip(t, natsbus.Config{URL: ns.URL(), User: "hub", Password: "s3cret"})
	refused(t, natsbus.Config{URL: ns.URL(), User: "hub", Password: "wrong"})
}

func TestToken(t *testing.T) {
	ns := testnats.Start(t, func(o *server.Options) { o.Authorization = "tok-123" })
	roundTrip(t, natsbus.Config{URL: ns.URL(), Token: "tok-123"})
	refused(t, natsbus.Config{URL: ns.URL(), Token: "tok-999"})
}

func TestNKey(t *testing.T) {
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := kp.PublicKey()
	seed, _ := kp.Seed()
	file := filepath.Join(t.TempDir(), "hub.nk")
	if err := os.WriteFile(file, seed, 0o600); err != nil {
		t.Fatal(err)
	}
	ns := testnats.Start(t, func(o *server.Options) { o.Nkeys = []*server.NkeyUser{{Nkey: pub}} })
	roundTrip(t, natsbus.Config{URL: ns.URL(), NKeyFile: file})
	refused(t, natsbus.Config{URL: ns.URL()})
}

// A .creds file (user JWT and seed) against a server in operator mode.
func TestCredsFile(t *testing.T) {
	okp, _ := nkeys.CreateOperator()
	opub, _ := okp.PublicKey()
	oc := jwt.NewOperatorClaims(opub)
	if _, err := oc.Encode(okp); err != nil {
		t.Fatal(err)
	}
	akp, _ := nkeys.CreateAccount()
	apub, _ := akp.PublicKey()
	ajwt, err := jwt.NewAccountClaims(apub).Encode(okp)
	if err != nil {
		t.Fatal(err)
	}
	ukp, _ := nkeys.CreateUser()
	upub, _ := ukp.PublicKey()
	ujwt, err := jwt.NewUserClaims(upub).Encode(akp)
	if err != nil {
		t.Fatal(err)
	}
	useed, _ := ukp.Seed()
	creds, err := jwt.FormatUserConfig(ujwt, useed)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "hub.creds")
	if err := os.WriteFile(file, creds, 0o600); err != nil {
		t.Fatal(err)
	}
	resolver := &server.MemAccResolver{}
	if err := resolver.Store(apub, ajwt); err != nil {
		t.Fatal(err)
	}
	ns := testnats.Start(t, func(o *server.Options) {
		o.TrustedOperators = []*jwt.OperatorClaims{oc}
		o.AccountResolver = resolver
	})
	roundTrip(t, natsbus.Config{URL: ns.URL(), CredsFile: file})
	refused(t, natsbus.Config{URL: ns.URL()})
}

// TLS with a private CA, and a server that requires client certificates.
func TestTLSWithClientCertificate(t *testing.T) {
	dir := t.TempDir()
	ca, caKey := newCA(t, dir)
	srvCert, srvKey := newLeaf(t, dir, "server", ca, caKey, x509.ExtKeyUsageServerAuth)
	cliCert, cliKey := newLeaf(t, dir, "client", ca, caKey, x509.ExtKeyUsageClientAuth)
	caFile := filepath.Join(dir, "ca.pem")
	tc, err := server.GenTLSConfig(&server.TLSConfigOpts{CertFile: srvCert, KeyFile: srvKey, CaFile: caFile, Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	ns := testnats.Start(t, func(o *server.Options) {
		o.TLS, o.TLSVerify, o.TLSConfig, o.TLSTimeout = true, true, tc, 5
	})
	roundTrip(t, natsbus.Config{URL: ns.URL(), TLSCAFile: caFile, TLSCertFile: cliCert, TLSKeyFile: cliKey})
	// Without a client certificate the server refuses.
	refused(t, natsbus.Config{URL: ns.URL(), TLSCAFile: caFile})
}

func newCA(t *testing.T, dir string) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hotrow test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, filepath.Join(dir, "ca.pem"), "CERTIFICATE", der)
	ca, _ := x509.ParseCertificate(der)
	return ca, key
}

func newLeaf(t *testing.T, dir, name string, ca *x509.Certificate, caKey *ecdsa.PrivateKey, usage x509.ExtKeyUsage) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem")
	writePEM(t, certFile, "CERTIFICATE", der)
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, keyFile, "EC PRIVATE KEY", kb)
	return certFile, keyFile
}

func writePEM(t *testing.T, file, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
