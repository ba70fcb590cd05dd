# Production dependencies: `npm ci --omit=dev`, compiling better-sqlite3's native binding with the
# full image's toolchain (same Node ABI and glibc as the slim runtime below).
FROM node:20-bookworm AS deps
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

# Build: compile TypeScript to dist/.
FROM node:20-bookworm AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# kubectl (its kustomize builds Kustomizations) and helm (renders HelmReleases): pinned releases,
# each checked against the SHA-256 its project publishes. To move to another release, change the
# version and both checksums together.
FROM node:20-bookworm AS tools
ARG KUBECTL_VERSION=1.32.4
ARG KUBECTL_SHA256_AMD64=10d739e9af8a59c9e7a730a2445916e04bc9cbb44bc79d22ce460cd329fa076c
ARG KUBECTL_SHA256_ARM64=c6f96d0468d6976224f5f0d81b65e1a63b47195022646be83e49d38389d572c2
ARG HELM_VERSION=3.17.3
ARG HELM_SHA256_AMD64=ee88b3c851ae6466a3de507f7be73fe94d54cbf2987cbaa3d1a3832ea331f2cd
ARG HELM_SHA256_ARM64=7944e3defd386c76fd92d9e6fec5c2d65a323f6fadc19bfb5e704e3eee10348e
# Set by BuildKit for the platform being built; the classic builder leaves it empty (amd64).
ARG TARGETARCH
WORKDIR /tools
RUN set -eu; \
    arch="${TARGETARCH:-amd64}"; \
    case "$arch" in \
      amd64) kubectl_sha="$KUBECTL_SHA256_AMD64"; helm_sha="$HELM_SHA256_AMD64" ;; \
      arm64) kubectl_sha="$KUBECTL_SHA256_ARM64"; helm_sha="$HELM_SHA256_ARM64" ;; \
      *) echo "no pinned kubectl/helm checksums for $arch" >&2; exit 1 ;; \
    esac; \
    curl -fsSL --retry 3 -o kubectl "https://dl.k8s.io/release/v${KUBECTL_VERSION}/bin/linux/${arch}/kubectl"; \
    echo "${kubectl_sha}  kubectl" | sha256sum -c -; \
    curl -fsSL --retry 3 -o helm.tar.gz "https://get.helm.sh/helm-v${HELM_VERSION}-linux-${arch}.tar.gz"; \
    echo "${helm_sha}  helm.tar.gz" | sha256sum -c -; \
    tar -xzf helm.tar.gz --strip-components=1 "linux-${arch}/helm"; \
    rm helm.tar.gz; \
    chmod 0755 kubectl helm; \
    ./kubectl version --client; \
    ./helm version

# Runtime: node:20 slim, non-root, the compiled server as entrypoint.
FROM node:20-bookworm-slim
# The slim image has no CA bundle; kubectl and helm need one to reach chart repositories and
# registries over HTTPS.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 65532 gitops \
    && useradd --system --uid 65532 --gid 65532 --home-dir /home/gitops --create-home --shell /usr/sbin/nologin gitops \
    && mkdir -p /data /certs \
    && chown 65532:65532 /data /certs
COPY --from=tools /tools/kubectl /tools/helm /usr/local/bin/
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /src/package.json ./
COPY --from=deps /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
# Defaults for `docker run`, as environment so that flags (e.g. a Deployment's args) override them.
ENV GITOPS_BIND_ADDRESS=0.0.0.0 \
    GITOPS_DATA_DIR=/data \
    GITOPS_CERT_DIR=/certs
USER 65532:65532
EXPOSE 8443
ENTRYPOINT ["node", "dist/main.js"]
