package e2e

import (
	"context"
	"net/url"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/oho-dev/oho/certtest"
	"github.com/oho-dev/oho/dbtest"
)

// tlsCluster is a PostgreSQL cluster of the test's own that takes TCP
// connections over TLS only (pg_hba.conf: hostssl), with a server
// certificate for 127.0.0.1 that the test's CA signed; the programs' roles
// log in with client certificates of the same CA (cert authentication), the
// superuser postgres without one. Every URL of the cluster asks for
// sslmode=verify-full with the CA as sslrootcert.
type tlsCluster struct {
	*pgCluster
	ca     *certtest.CA
	caFile string
}

func startTLSCluster(t *testing.T) *tlsCluster {
	t.Helper()
	ca := certtest.NewCA(t, "OHO test PostgreSQL CA")
	serverCert, serverKey, err := certtest.KeyPairPEM(ca.Server(t, "127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	clientDir := t.TempDir()
	roleParams := map[string]url.Values{}
	for _, role := range []string{dbtest.AppRole, dbtest.OwnerRole} {
		cert, key := certtest.WriteKeyPair(t, clientDir, role, ca.Client(t, role))
		roleParams[role] = url.Values{"sslcert": {cert}, "sslkey": {key}}
	}
	caFile := ca.File(t)
	pg := startClusterWith(t, clusterConfig{
		files: map[string][]byte{"server.crt": serverCert, "server.key": serverKey, "client-ca.crt": ca.PEM()},
		settings: []string{"ssl=on", "ssl_cert_file=server.crt", "ssl_key_file=server.key", "ssl_ca_file=client-ca.crt",
			"ssl_min_protocol_version=TLSv1.2"},
		hba: "local all all trust\n" +
			"hostssl all postgres 127.0.0.1/32 trust\n" +
			"hostssl all all 127.0.0.1/32 cert\n",
		params:     url.Values{"sslmode": {"verify-full"}, "sslrootcert": {caFile}},
		roleParams: roleParams,
	})
	return &tlsCluster{pgCluster: pg, ca: ca, caFile: caFile}
}

// TestPostgresOverTLS runs OHO's programs against a PostgreSQL server that
// takes TLS only, as README's "Roles in PostgreSQL" tells production to.
// (1) With sslmode=verify-full, the right CA and client certificates,
// 'starter migrate' (as the owner), commands and the worker (as oho_app)
// connect, every connection of theirs encrypted and authenticated by its
// certificate. (2) A wrong CA, a wrong host name or a missing client
// certificate is refused with one line that names the TLS problem, by the
// command line and by the worker. (3) A plaintext client is refused by the
// server, and told that it needs TLS. (4) OHO_REQUIRE_TLS refuses a URL
// that would not check the server's certificate before connecting, and
// lets a verify-full one through.
func TestPostgresOverTLS(t *testing.T) {
	began := time.Now()
	pg := startTLSCluster(t)
	t.Logf("TLS cluster on port %d ready after %v", pg.port, time.Since(began).Round(time.Millisecond))

	// (1) 'starter migrate' as the owner, over verify-full with the owner's
	// client certificate.
	e := newEnvOnCluster(t, pg.pgCluster)
	appURL, ownerURL := e.env("DATABASE_URL"), e.env("MIGRATION_DATABASE_URL")
	e.ok("org", "import", e.file("org.json", e.org()))
	e.checkAuditVerify()
	w := e.startWorker()
	// Every connection of the worker's is over TLS, as oho_app by its
	// certificate.
	var conns []struct {
		SSL      bool   `db:"ssl"`
		ClientDN string `db:"client_dn"`
		Version  string `db:"version"`
	}
	if err := e.db.Select(&conns, `
SELECT s.ssl, COALESCE(s.client_dn, '') AS client_dn, COALESCE(s.version, '') AS version
FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid)
WHERE a.usename = $1 AND a.datname = current_database()`, dbtest.AppRole); err != nil {
		t.Fatal(err)
	}
	if len(conns) == 0 {
		t.Errorf("the worker has no connection as %s", dbtest.AppRole)
	}
	for _, c := range conns {
		if !c.SSL || c.ClientDN != "/CN="+dbtest.AppRole {
			t.Errorf("a connection of the worker's: TLS %v, client certificate %q; want TLS with /CN=%s", c.SSL, c.ClientDN, dbtest.AppRole)
		}
	}
	w.stop(syscall.SIGTERM)
	t.Logf("migrate, org import, audit verify and the worker (connections: %d, %s) over verify-full after %v",
		len(conns), conns[0].Version, time.Since(began).Round(time.Millisecond))

	// (2) and (3): refused by the command line and by the worker at start,
	// in one line naming the TLS problem.
	otherCA := certtest.NewCA(t, "another CA").File(t)
	for _, tc := range []struct {
		name, url, want string
	}{
		{"another CA", withParams(t, appURL, "sslrootcert", otherCA),
			"x509: certificate signed by unknown authority (TLS: the server's certificate is not signed by the CA of sslrootcert (" + otherCA + ") in DATABASE_URL)"},
		{"another host name", withHost(t, appURL, "localhost"),
			"(TLS: the server's certificate is not for localhost, the host DATABASE_URL names: connect by a name the certificate holds)"},
		{"no client certificate", withParams(t, appURL, "sslcert", "", "sslkey", ""),
			"connection requires a valid client certificate (28000) (TLS: the server wants a client certificate of this role: give its sslcert and sslkey in DATABASE_URL)"},
		{"plaintext", withParams(t, appURL, "sslmode", "disable"),
			"no encryption (28000) (TLS: the server takes this connection over TLS only (hostssl in pg_hba.conf), and DATABASE_URL has sslmode=disable: use sslmode=verify-full"},
	} {
		r := e.starterWith([]string{"DATABASE_URL=" + tc.url}, "audit", "verify")
		unavailableLine(t, "audit verify with "+tc.name, r, tc.want)
		t.Logf("%s: %s", tc.name, strings.TrimSpace(r.stderr))
		workerRefused(t, e, "the worker with "+tc.name, []string{"DATABASE_URL=" + tc.url}, tc.want)
	}
	if n := e.count(`SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE NOT s.ssl AND a.client_addr IS NOT NULL`); n != 0 {
		t.Errorf("%d TCP connections without TLS are open", n)
	}

	// (4) sslmode=require connects (encrypted, the certificate unchecked);
	// OHO_REQUIRE_TLS refuses it before connecting, and lets verify-full
	// through. The worker then stops at Temporal, which the dev server
	// serves in clear.
	weak := withParams(t, appURL, "sslmode", "require")
	if out := e.starterWith([]string{"DATABASE_URL=" + weak}, "audit", "verify"); out.code != 0 {
		t.Errorf("audit verify with sslmode=require: %s", out)
	}
	required := "OHO_REQUIRE_TLS=true"
	unavailableLine(t, "audit verify with sslmode=require and OHO_REQUIRE_TLS", e.starterWith([]string{required, "DATABASE_URL=" + weak}, "audit", "verify"),
		"starter: OHO_REQUIRE_TLS is set, but DATABASE_URL has sslmode=require, which does not check the server's certificate: use sslmode=verify-full")
	unavailableLine(t, "migrate with sslmode=prefer and OHO_REQUIRE_TLS", e.starterWith([]string{required, "MIGRATION_DATABASE_URL=" + withParams(t, ownerURL, "sslmode", "prefer")}, "migrate"),
		"starter: OHO_REQUIRE_TLS is set, but MIGRATION_DATABASE_URL has sslmode=prefer, which may connect in clear")
	if r := e.starterWith([]string{required}, "migrate"); r.code != 0 {
		t.Errorf("migrate with verify-full and OHO_REQUIRE_TLS: %s", r)
	}
	if r := e.starterWith([]string{required}, "audit", "verify"); r.code != 0 || !strings.HasPrefix(r.stdout, "ok ") {
		t.Errorf("audit verify with verify-full and OHO_REQUIRE_TLS: %s", r)
	}
	workerRefused(t, e, "the worker with OHO_REQUIRE_TLS", []string{required}, "OHO_REQUIRE_TLS is set, but the connection to Temporal at")
	t.Logf("the whole test took %v", time.Since(began).Round(time.Millisecond))
}

// workerRefused runs a worker with extra variables, which must stop at
// start with exit 1 and one line of error in its log, saying it stopped
// with an error that contains want.
func workerRefused(t *testing.T, e *env, what string, vars []string, want string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "worker"))
	cmd.Env = append(slices.Clip(e.vars), vars...)
	b, err := cmd.CombinedOutput()
	out := string(b)
	var bad []string
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if !strings.Contains(line, "level=INFO") {
			bad = append(bad, line)
		}
	}
	switch {
	case err == nil || cmd.ProcessState.ExitCode() != 1:
		t.Errorf("%s: want exit 1, got %v:\n%s", what, err, out)
	case len(bad) != 1 || !strings.Contains(bad[0], `level=ERROR msg="worker stopped"`) || !strings.Contains(bad[0], want):
		t.Errorf("%s: want one line saying the worker stopped, containing %q; got:\n%s", what, want, out)
	case strings.Contains(out, "goroutine ") || strings.Contains(out, "panic"):
		t.Errorf("%s: stack trace in the log:\n%s", what, out)
	}
}

// env is the value the world gives a variable.
func (e *env) env(name string) string {
	for _, v := range slices.Backward(e.vars) {
		if val, ok := strings.CutPrefix(v, name+"="); ok {
			return val
		}
	}
	return ""
}

// withParams is the URL with query parameters set (name, value, …); an
// empty value removes the parameter.
func withParams(t *testing.T, raw string, kv ...string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			q.Del(kv[i])
		} else {
			q.Set(kv[i], kv[i+1])
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// withHost is the URL with another host and the same port.
func withHost(t *testing.T, raw, host string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = host + ":" + u.Port()
	return u.String()
}
