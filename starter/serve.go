package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/oho-dev/oho/connect"
	"github.com/oho-dev/oho/metrics"
	"github.com/oho-dev/oho/web"
)

// shutdownGrace is how long requests in flight may take to finish once the
// server is told to stop (SIGTERM or SIGINT); the process exits within it.
const shutdownGrace = 10 * time.Second

// serve runs the web pages and the HTTP API until the command is
// interrupted: SIGTERM or SIGINT stops taking new requests, lets those in
// flight finish for up to shutdownGrace, and exits.
func (a *app) serve(ctx context.Context, args []string) error {
	fs := newFlags("serve")
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	base := fs.String("base-url", "", "address people reach OHO at (default OHO_BASE_URL, else http://ADDR)")
	idpFile := fs.String("oidc", "", "identity providers file (JSON; default OHO_OIDC_FILE, else none)")
	certFile := fs.String("tls-cert", "", "TLS certificate file (PEM), to serve https")
	keyFile := fs.String("tls-key", "", "TLS private key file (PEM)")
	feedback := fs.String("feedback-email", os.Getenv("OHO_FEEDBACK_EMAIL"), "where the accessibility statement asks for feedback (default OHO_FEEDBACK_EMAIL)")
	proxyList := fs.String("trusted-proxies", os.Getenv("OHO_TRUSTED_PROXIES"), "addresses and networks of the reverse proxies whose X-Forwarded-For names the client (default OHO_TRUSTED_PROXIES)")
	codecOrigins := fs.String("codec-cors-origin", os.Getenv("OHO_CODEC_CORS_ORIGIN"), "origins of the Temporal Web UI whose pages may call the codec server at /codec, separated by commas (default OHO_CODEC_CORS_ORIGIN; on this machine, the dev server's UI)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if (*certFile == "") != (*keyFile == "") {
		return usagef("serve: --tls-cert and --tls-key go together")
	}
	metricsAddr, err := metrics.AddressFromEnv()
	if err != nil {
		return err
	}
	proxies, err := web.ParseTrustedProxies(*proxyList)
	if err != nil {
		return usagef("serve: --trusted-proxies (OHO_TRUSTED_PROXIES): %v", err)
	}
	origins, err := web.ParseCodecOrigins(*codecOrigins)
	if err != nil {
		return usagef("serve: --codec-cors-origin (OHO_CODEC_CORS_ORIGIN): %v", err)
	}
	if *base == "" {
		*base = os.Getenv("OHO_BASE_URL")
	}
	if *base == "" {
		scheme := "http"
		if *certFile != "" {
			scheme = "https"
		}
		*base = scheme + "://" + *addr
	}
	if *idpFile == "" {
		*idpFile = os.Getenv("OHO_OIDC_FILE")
	}
	var idps []web.IdentityProvider
	if *idpFile != "" {
		var err error
		if idps, err = web.LoadIdentityProviders(*idpFile); err != nil {
			return err
		}
	}
	logger := slog.New(slog.NewTextHandler(a.stderr, nil))
	// The metrics listener (OHO_METRICS_ADDRESS) is apart from the pages,
	// so that it is not public with them; the Temporal client, dialled on
	// first use, reports the SDK's metrics to it.
	if _, err := a.store(ctx); err != nil {
		return err
	}
	ep, err := metrics.Listen(metricsAddr, a.db.DB, logger)
	if err != nil {
		return err
	}
	defer ep.Close()
	a.temporalOptions = append(a.temporalOptions, connect.WithMetrics(ep.TemporalHandler()))
	svc, err := a.service(ctx)
	if err != nil {
		return err
	}
	srv, err := web.New(web.Config{Service: svc, DB: a.db.DB, BaseURL: *base, IdentityProviders: idps, Logger: logger, FeedbackEmail: *feedback, TrustedProxies: proxies,
		CodecOrigins: origins})
	if err != nil {
		return err
	}
	defer srv.Close()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w", *addr, err)
	}
	hs := &http.Server{
		Handler:           metrics.CountRefusals(srv.Handler()),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() {
		if *certFile != "" {
			hs.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
			served <- hs.ServeTLS(ln, *certFile, *keyFile)
			return
		}
		served <- hs.Serve(ln)
	}()
	logger.Info("serving OHO", "addr", ln.Addr().String(), "base_url", *base, "identity_providers", len(idps))
	select {
	case err := <-served:
		return fmt.Errorf("serving on %s: %w", *addr, err)
	case <-ctx.Done():
	}
	logger.Info("stopping: finishing the requests in flight", "grace", shutdownGrace)
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		hs.Close()
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("requests still in flight after %s were cut off", shutdownGrace)
		}
		return err
	}
	logger.Info("stopped")
	return nil
}
