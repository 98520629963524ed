# OHO development targets. `make` or `make help` lists them.
#
# The environment (Temporal dev server, PostgreSQL, pinned Temporal CLI, Debian's Chromium) is
# managed by scripts/devenv.sh; every target that needs it depends on `up`, which is fast when all
# is up.

# Where the binaries and the tests find Temporal and PostgreSQL (override on the command line or
# in the environment). The programs connect as the application role oho_app (DATABASE_URL);
# `starter migrate` as the owner of the database (MIGRATION_DATABASE_URL); `make up` creates both
# roles (README, "Roles in PostgreSQL"). A DATABASE_URL given without MIGRATION_DATABASE_URL is
# used for both, as the programs do (a single-role setup). Tests create their own databases on the
# server of DATABASE_URL, as user postgres unless ADMIN_DATABASE_URL says otherwise, and drop them.
TEMPORAL_ADDRESS ?= 127.0.0.1:7233
ifdef DATABASE_URL
MIGRATION_DATABASE_URL ?= $(DATABASE_URL)
else
DATABASE_URL := postgres://oho_app@127.0.0.1:5432/oho?sslmode=disable
MIGRATION_DATABASE_URL ?= postgres://oho_owner@127.0.0.1:5432/oho?sslmode=disable
endif
export TEMPORAL_ADDRESS DATABASE_URL MIGRATION_DATABASE_URL

GO ?= go

.PHONY: help build up test test-cluster workflowcheck demo bench fuzz screens stop status fmt vet clean

help: ## list the targets
	@echo 'Targets:'
	@awk 'BEGIN { FS = ":.*## " } /^[a-z-]+:.*## / { printf "  %-13s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)
	@echo 'Variables: TEMPORAL_ADDRESS=$(TEMPORAL_ADDRESS) DATABASE_URL=$(DATABASE_URL)'
	@echo '           MIGRATION_DATABASE_URL=$(MIGRATION_DATABASE_URL)'

build: ## build bin/worker and bin/starter
	$(GO) build -o bin/ ./worker ./starter

up: ## start the dev environment: Temporal CLI, Chromium, PostgreSQL + roles + database, Temporal dev server
	scripts/devenv.sh up

# make test: everything CI runs. The end-to-end package (e2e) holds the fault tests (PostgreSQL and
# Temporal restarted, workers killed, the mail server down, two front ends at once) and the
# browser tests; then the packages that need no services again under the race detector, a short
# run of every fuzz target, and the cycle on a real Temporal cluster (test-cluster).
TEST_FUZZTIME ?= 3s

test: up workflowcheck ## go vet, workflowcheck, every test (unit, end to end, faults), -race, a short fuzz run, then test-cluster
	$(GO) vet ./...
	$(GO) test -count=1 -p 1 -timeout 30m ./...
	$(GO) test -race -count=1 ./review ./render ./check ./authz ./identity ./smtptest ./metrics ./payloadcrypt
	$(MAKE) --no-print-directory fuzz FUZZTIME=$(TEST_FUZZTIME)
	$(MAKE) --no-print-directory test-cluster

# The cluster test: a real Temporal server (go.temporal.io/server, the version the pinned CLI
# embeds) with PostgreSQL persistence and visibility, built into .tools/ on first use (about four
# minutes) and run on 127.0.0.1:7633-7641 by scripts/cluster.sh, beside the dev server; the test
# (e2e/cluster_test.go, build tag "cluster") runs a cycle across a restart of its process.
OHO_CLUSTER_ADDRESS ?= 127.0.0.1:7633

test-cluster: ## build and start a real Temporal server on PostgreSQL, run a whole cycle across its restart
	scripts/devenv.sh tools
	scripts/devenv.sh postgres
	OHO_CLUSTER_ADDRESS=$(OHO_CLUSTER_ADDRESS) scripts/cluster.sh up >/dev/null
	OHO_CLUSTER_ADDRESS=$(OHO_CLUSTER_ADDRESS) TEMPORAL_ADDRESS=$(OHO_CLUSTER_ADDRESS) \
		$(GO) test -tags cluster -count=1 -v -run '^TestCluster' -timeout 10m ./e2e

demo: up build ## migrate, start a worker and run `starter demo` (scripts/demo.sh)
	scripts/demo.sh

bench: build ## every benchmark on a Temporal server and databases of its own, side by side with bare Temporal: one table, JSON in out/bench/ (scripts/bench.sh)
	scripts/bench.sh

FUZZTIME ?= 30s
fuzz: ## fuzz the outcome, config and org checks, flags, --due, --since, plan Markdown, payload keys and payloads for FUZZTIME each (make test runs their seeds)
	for f in FuzzOutcome FuzzConfig FuzzOrg; do $(GO) test ./service -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) || exit 1; done
	for f in FuzzParse FuzzParseDue FuzzParseSince; do $(GO) test ./starter -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) || exit 1; done
	$(GO) test ./review -run '^$$' -fuzz '^FuzzPlanMarkdown$$' -fuzztime $(FUZZTIME)
	for f in FuzzParseKeys FuzzDecode; do $(GO) test ./payloadcrypt -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) || exit 1; done

# The README's pictures of the pages: TestWholeCycleByClicking writes the top of four pages it
# comes to (the inbox, a refused evaluation, the dashboard, the audit trail) to
# out/screens/readme/, and this copies them into docs/screens/, where the README shows them.
README_SCREENS = inbox evaluate dashboard audit-trail

screens: up ## run the whole cycle by clicking in Chromium and copy its screenshots for the README into docs/screens/
	rm -rf out/screens/readme
	$(GO) test -count=1 -run 'TestWholeCycleByClicking$$' ./e2e
	mkdir -p docs/screens
	cp $(README_SCREENS:%=out/screens/readme/%.png) docs/screens/

# workflowcheck finds non-deterministic code reachable from workflows; pinned, built into the Go
# cache on first use (about 15 s). Accepted exceptions are in workflowcheck.yaml, with reasons.
WORKFLOWCHECK ?= go.temporal.io/sdk/contrib/tools/workflowcheck@v0.6.0

workflowcheck: ## check the workflows for non-deterministic code
	$(GO) run $(WORKFLOWCHECK) -config workflowcheck.yaml ./...

stop: ## stop the Temporal dev server started by `make up`, and the cluster's server if running
	scripts/devenv.sh stop
	OHO_CLUSTER_ADDRESS=$(OHO_CLUSTER_ADDRESS) scripts/cluster.sh stop

status: ## one line per service of the dev environment
	scripts/devenv.sh status

fmt: ## format the Go code
	$(GO) fmt ./...

vet: ## go vet
	$(GO) vet ./...

clean: ## remove the binaries (not .tools/ nor .dev/)
	rm -rf bin/
