# Kubernetes targets (k8s/README.md). Included by the Makefile (`-include k8s/k8s.mk`).
#
#   make images                      build every app's image (needs a Docker engine)
#   make kind-load                   load them into a kind cluster (KIND_CLUSTER, default orderflow)
#   make push REGISTRY=…             tag and push them to a registry
#   make deploy OVERLAY=local        kubectl apply -k k8s/overlays/$(OVERLAY) (local, aws, azure, gcp)
#   make k8s-generate                copy components/ into k8s/*/generated/ (after editing components/)
#   make k8s-check                   render and validate every overlay (also part of make test)

K8S_APPS     := orders inventory payments shipping notifications deadletters console cardsim
K8S_OVERLAYS := local aws azure gcp
REGISTRY     ?= orderflow
TAG          ?= dev
OVERLAY      ?= local
KIND_CLUSTER ?= orderflow
DOCKER       ?= docker
KUBECTL      ?= kubectl
KIND         ?= kind

.PHONY: images kind-load push deploy k8s-generate k8s-check

define require_tool
	@command -v $(1) >/dev/null 2>&1 || { echo "make $@: $(1) is not on PATH; $(2)" >&2; exit 1; }
endef

# The Dockerfile uses BuildKit (cache mounts, cross-platform builds): Docker 23 or later with buildx, the default.
images: ## build every app's image (needs a running Docker engine with BuildKit; REGISTRY=orderflow TAG=dev)
	$(call require_tool,$(DOCKER),building images needs a Docker engine (or set DOCKER=podman))
	@$(DOCKER) info >/dev/null 2>&1 || { echo "make images: no Docker engine answers ($(DOCKER) info failed): start one, or build on a machine that has one" >&2; exit 1; }
	@for app in $(K8S_APPS); do \
	  echo "make images: $(REGISTRY)/$$app:$(TAG)"; \
	  DOCKER_BUILDKIT=1 $(DOCKER) build --build-arg APP=$$app -t $(REGISTRY)/$$app:$(TAG) . || exit 1; \
	done

kind-load: ## load the images into the kind cluster KIND_CLUSTER (local overlay)
	$(call require_tool,$(KIND),install kind (https://kind.sigs.k8s.io) or load the images into your cluster yourself)
	@for app in $(K8S_APPS); do \
	  $(KIND) load docker-image --name $(KIND_CLUSTER) $(REGISTRY)/$$app:$(TAG) || exit 1; \
	done

push: ## push the images (REGISTRY=<your registry>/orderflow; the cloud overlays' images: must match)
	$(call require_tool,$(DOCKER),pushing images needs a Docker engine)
	@$(DOCKER) info >/dev/null 2>&1 || { echo "make push: no Docker engine answers ($(DOCKER) info failed)" >&2; exit 1; }
	@test "$(REGISTRY)" != orderflow || { echo "make push: set REGISTRY to your registry, e.g. REGISTRY=123456789012.dkr.ecr.us-east-1.amazonaws.com/orderflow" >&2; exit 1; }
	@for app in $(K8S_APPS); do \
	  $(DOCKER) push $(REGISTRY)/$$app:$(TAG) || exit 1; \
	done

deploy: ## kubectl apply -k k8s/overlays/$(OVERLAY) (OVERLAY=local|aws|azure|gcp; prerequisites in k8s/README.md)
	@case " $(K8S_OVERLAYS) " in *" $(OVERLAY) "*) ;; *) echo "make deploy: OVERLAY must be one of: $(K8S_OVERLAYS)" >&2; exit 1;; esac
	$(call require_tool,$(KUBECTL),install kubectl 1.30 or later)
	$(KUBECTL) apply -k k8s/overlays/$(OVERLAY)

k8s-generate: ## copy components/ into k8s/*/generated/ (run after editing components/)
	$(require_go)
	$(GO) run ./tools/k8sgen

k8s-check: ## render and validate every overlay, and check k8s/*/generated/ is current
	$(require_go)
	$(GO) test -count=1 ./internal/k8scheck/ ./tools/k8sgen/
