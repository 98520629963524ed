package web

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestParseTrustedProxies(t *testing.T) {
	got, err := ParseTrustedProxies(" 10.0.0.5, 192.168.0.0/16 ,fd00::/8,, ::ffff:10.1.1.1")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.0.0.5/32", "192.168.0.0/16", "fd00::/8", "10.1.1.1/32"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Errorf("item %d: got %s, want %s", i, got[i], want[i])
		}
	}
	for _, bad := range []string{"10.0.0", "proxy.example", "10.0.0.0/33", "*"} {
		if _, err := ParseTrustedProxies(bad); err == nil {
			t.Errorf("%q: accepted", bad)
		}
	}
	if got, err := ParseTrustedProxies(""); err != nil || len(got) != 0 {
		t.Errorf("empty list: %v, %v", got, err)
	}
}

// TestRealClient reads the client of forwarded requests only from trusted
// proxies, from the right end of X-Forwarded-For, and never past a hop it
// does not trust.
func TestRealClient(t *testing.T) {
	trusted, err := ParseTrustedProxies("10.0.0.0/24, 10.9.9.9")
	if err != nil {
		t.Fatal(err)
	}
	var seen string
	h := realClient(trusted, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = clientAddress(r) }))
	for _, tt := range []struct {
		name, remote string
		xff          []string
		want         string
	}{
		{"no proxy", "203.0.113.7:5555", nil, "203.0.113.7"},
		{"untrusted peer's header ignored", "203.0.113.7:5555", []string{"198.51.100.1"}, "203.0.113.7"},
		{"trusted proxy", "10.0.0.2:4000", []string{"198.51.100.1"}, "198.51.100.1"},
		{"spoofed left entries ignored", "10.0.0.2:4000", []string{"1.2.3.4, 198.51.100.1"}, "198.51.100.1"},
		{"two trusted hops", "10.0.0.2:4000", []string{"198.51.100.1, 10.9.9.9"}, "198.51.100.1"},
		{"two header lines", "10.0.0.2:4000", []string{"198.51.100.1", "10.9.9.9"}, "198.51.100.1"},
		{"garbage stops the walk", "10.0.0.2:4000", []string{"198.51.100.1, junk"}, "10.0.0.2"},
		{"only trusted hops", "10.0.0.2:4000", []string{"10.0.0.3"}, "10.0.0.3"},
		{"trusted proxy without header", "10.0.0.2:4000", nil, "10.0.0.2"},
		{"IPv6 client", "10.0.0.2:4000", []string{"2001:db8::1"}, "2001:db8::1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			h.ServeHTTP(httptest.NewRecorder(), r)
			if seen != tt.want {
				t.Errorf("client %q, want %q", seen, tt.want)
			}
		})
	}
}
