package web

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ParseTrustedProxies reads the reverse proxies and load balancers whose
// X-Forwarded-For the server believes: a comma-separated list of addresses
// (10.0.0.5) and networks (10.0.0.0/8, fd00::/8). Empty means none.
func ParseTrustedProxies(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for item := range strings.SplitSeq(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if p, err := netip.ParsePrefix(item); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(item)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q is neither an address such as 10.0.0.5 nor a network such as 10.0.0.0/8", item)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// realClient makes a request that a trusted proxy forwarded name the client
// the proxy serves in RemoteAddr, which the limits on failed logins and the
// logs read: X-Forwarded-For is read from its right end, where the nearest
// proxy appended the address it saw, past every trusted proxy, to the first
// address that is not one. Anyone can send the header, so it is read only
// from a trusted proxy, and only up to the first hop that is not trusted;
// a request from anywhere else keeps its own address. Without trusted
// proxies every request keeps its own: behind a load balancer, that is the
// balancer's, and failed logins from anyone count against everyone behind
// it (docs/deploy.md).
func realClient(trusted []netip.Prefix, next http.Handler) http.Handler {
	if len(trusted) == 0 {
		return next
	}
	isTrusted := func(a netip.Addr) bool {
		for _, p := range trusted {
			if p.Contains(a.Unmap()) {
				return true
			}
		}
		return false
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		peer, perr := netip.ParseAddr(host)
		if err != nil || perr != nil || !isTrusted(peer) {
			next.ServeHTTP(w, r)
			return
		}
		var hops []string
		for _, h := range r.Header.Values("X-Forwarded-For") {
			hops = append(hops, strings.Split(h, ",")...)
		}
		client := peer
		for i := len(hops) - 1; i >= 0; i-- {
			a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				break // not an address: what lies beyond it cannot be believed
			}
			client = a.Unmap()
			if !isTrusted(client) {
				break
			}
		}
		if client == peer {
			next.ServeHTTP(w, r)
			return
		}
		forwarded := *r
		forwarded.RemoteAddr = net.JoinHostPort(client.String(), "0")
		next.ServeHTTP(w, &forwarded)
	})
}
