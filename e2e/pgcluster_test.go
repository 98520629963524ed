package e2e

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// pgBinDir holds PostgreSQL's server programs (initdb, pg_ctl): OHO_PG_BIN,
// or where Debian's postgresql-15 puts them.
func pgBinDir() string {
	if d := os.Getenv("OHO_PG_BIN"); d != "" {
		return d
	}
	return "/usr/lib/postgresql/15/bin"
}

// pgCluster is a PostgreSQL cluster of the test's own, in a temporary folder
// and on a free loopback port, with the superuser postgres: a server the
// test may stop and start (or crash), or configure (TLS, pg_hba.conf),
// without touching the one other tests share. It is stopped and removed
// when the test ends, whether it passed or not.
type pgCluster struct {
	t    *testing.T
	dir  string // the folder, owned by the cluster's OS user: data/, the log and the socket
	port int
	cfg  clusterConfig
	// as runs PostgreSQL's programs as the cluster's OS user: postgres when
	// the test runs as root (initdb refuses root), else the test's own user.
	as       []string
	uid, gid int // the cluster's OS user, when it is not the test's
	running  bool
}

// clusterConfig is how a cluster differs from the default one: trust
// authentication over TCP and no TLS.
type clusterConfig struct {
	// files are written into the data folder after initdb, readable by the
	// cluster's OS user only (as PostgreSQL wants a private key): the
	// server's certificate and key, the CA of client certificates.
	files map[string][]byte
	// settings are given to the server at each start, as -c name=value;
	// relative file names are read from the data folder.
	settings []string
	// hba, when set, replaces pg_hba.conf.
	hba string
	// params are set in the query of every URL of the cluster
	// (sslmode=verify-full, sslrootcert=…); roleParams in those of one role
	// (the sslcert and sslkey of its client certificate).
	params     url.Values
	roleParams map[string]url.Values
}

// startCluster creates a default cluster with initdb and starts it. It fails
// the test, saying what is missing, when PostgreSQL's programs or (as root)
// the postgres OS user are not there.
func startCluster(t *testing.T) *pgCluster {
	t.Helper()
	return startClusterWith(t, clusterConfig{})
}

// startClusterWith is startCluster with a configuration of the test's.
func startClusterWith(t *testing.T, cfg clusterConfig) *pgCluster {
	t.Helper()
	bin := pgBinDir()
	for _, prog := range []string{"initdb", "pg_ctl"} {
		if _, err := os.Stat(filepath.Join(bin, prog)); err != nil {
			t.Fatalf("this test runs a PostgreSQL cluster of its own and needs %s (PostgreSQL 15's server programs; set OHO_PG_BIN to their folder): %v", filepath.Join(bin, prog), err)
		}
	}
	dir, err := os.MkdirTemp("", "oho-pg-")
	if err != nil {
		t.Fatal(err)
	}
	c := &pgCluster{t: t, dir: dir, cfg: cfg, uid: -1, gid: -1}
	t.Cleanup(func() {
		if c.running {
			c.pgCtl("stop", "-m", "immediate")
		}
		if t.Failed() {
			if b, err := os.ReadFile(filepath.Join(c.dir, "log")); err == nil {
				t.Logf("the test's PostgreSQL log:\n%s", tail(string(b), 40))
			}
		}
		if err := os.RemoveAll(c.dir); err != nil {
			t.Errorf("removing the test's PostgreSQL cluster: %v", err)
		}
	})
	if os.Geteuid() == 0 {
		// initdb refuses to run as root: the cluster belongs to postgres.
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("this test runs as root, and initdb refuses root: it needs the OS user postgres to own its PostgreSQL cluster: %v", err)
		}
		c.uid, _ = strconv.Atoi(u.Uid)
		c.gid, _ = strconv.Atoi(u.Gid)
		if err := os.Chown(dir, c.uid, c.gid); err != nil {
			t.Fatalf("giving the cluster's folder to postgres: %v", err)
		}
		runuser, err := exec.LookPath("runuser")
		if err != nil {
			t.Fatalf("this test runs as root and needs runuser (util-linux) to run initdb as postgres: %v", err)
		}
		c.as = []string{runuser, "-u", "postgres", "--"}
	}
	addr := freeAddr(t)
	c.port, _ = strconv.Atoi(addr[strings.LastIndex(addr, ":")+1:])
	c.run(filepath.Join(bin, "initdb"), "-D", c.data(), "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C")
	files := cfg.files
	if cfg.hba != "" {
		files = map[string][]byte{"pg_hba.conf": []byte(cfg.hba)}
		for name, b := range cfg.files {
			files[name] = b
		}
	}
	for name, b := range files {
		c.writeFile(name, b)
	}
	c.start()
	return c
}

func (c *pgCluster) data() string { return filepath.Join(c.dir, "data") }

// writeFile writes a file into the data folder, owned by the cluster's OS
// user and readable by it only.
func (c *pgCluster) writeFile(name string, b []byte) {
	c.t.Helper()
	path := filepath.Join(c.data(), name)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		c.t.Fatalf("writing %s into the cluster: %v", name, err)
	}
	if c.uid >= 0 {
		if err := os.Chown(path, c.uid, c.gid); err != nil {
			c.t.Fatalf("giving %s to the cluster's user: %v", name, err)
		}
	}
}

// adminURL is the superuser's URL.
func (c *pgCluster) adminURL() string {
	return c.urlAs(fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port), "postgres")
}

// urlAs is a URL of the cluster (of one of its databases) as the role, with
// the cluster's parameters and the role's.
func (c *pgCluster) urlAs(databaseURL, role string) string {
	c.t.Helper()
	u, err := url.Parse(databaseURL)
	if err != nil {
		c.t.Fatalf("reading a URL of the test's cluster: %v", err)
	}
	u.User = url.User(role)
	q := u.Query()
	for _, params := range []url.Values{c.cfg.params, c.cfg.roleParams[role]} {
		for k, v := range params {
			q[k] = v
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// run runs one of PostgreSQL's programs as the cluster's user.
func (c *pgCluster) run(prog string, args ...string) {
	c.t.Helper()
	argv := append(append(c.as[:len(c.as):len(c.as)], prog), args...)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = c.dir
	if out, err := cmd.CombinedOutput(); err != nil {
		c.t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
	}
}

func (c *pgCluster) pgCtl(args ...string) {
	c.t.Helper()
	c.run(filepath.Join(pgBinDir(), "pg_ctl"), append([]string{"-D", c.data(), "-w", "-t", "60"}, args...)...)
}

// start starts the server and waits until it accepts connections. fsync is
// off: the test crashes the server, never the machine.
func (c *pgCluster) start() {
	c.t.Helper()
	opts := fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1 -c unix_socket_directories='%s' -c fsync=off", c.port, c.dir)
	for _, s := range c.cfg.settings {
		name, value, _ := strings.Cut(s, "=")
		opts += fmt.Sprintf(" -c %s='%s'", name, value)
	}
	c.pgCtl("start", "-l", filepath.Join(c.dir, "log"), "-o", opts)
	c.running = true
}

// stop stops the server: mode fast (a clean shutdown, sessions ended) or
// immediate (a crash: the server recovers from its WAL at the next start).
func (c *pgCluster) stop(mode string) {
	c.t.Helper()
	c.pgCtl("stop", "-m", mode)
	c.running = false
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
