# Legate container image (multi-stage). Build: docker build -t legate:dev .
FROM node:20-bookworm-slim AS build
# g++ builds the SO_ORIGINAL_DST addon (native/original-dst.cc) against the image's Node headers.
RUN apt-get update \
 && apt-get install -y --no-install-recommends g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY protos ./protos
COPY scripts ./scripts
COPY native ./native
# The sample sidecar bootstrap that scripts/build-code-cache.js starts Legate on.
COPY bench/macro/sidecar-bootstrap.ts ./bench/macro/
COPY bin ./bin
RUN node node_modules/typescript/bin/tsc -p tsconfig.json --rootDir . \
 && node scripts/build-native.js \
 && node scripts/build-proto-descriptor.js \
 && npm prune --omit=dev --no-audit --no-fund \
 && node scripts/build-code-cache.js

FROM node:20-bookworm-slim
# iptables is needed by `legate iptables` when the image runs as the init container.
RUN apt-get update \
 && apt-get install -y --no-install-recommends iptables iproute2 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/legate
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist/src ./dist/src
COPY --from=build /src/dist/envoy-descriptor ./dist/envoy-descriptor
# V8 code cache (src/common/code-cache.ts); ignored if this machine's CPU features give another V8 tag.
COPY --from=build /src/dist/code-cache ./dist/code-cache
COPY --from=build /src/protos ./protos
COPY package.json ./
COPY bin ./bin
COPY config/demo.yaml /etc/legate/demo.yaml
# `legate` on the PATH (Kubernetes exec hooks: `legate wait`), and `envoy` for pilot-agent, whose
# default proxy binary path is /usr/local/bin/envoy (Dockerfile.istio adds pilot-agent itself).
RUN ln -s /opt/legate/bin/legate /usr/local/bin/legate \
 && ln -s /opt/legate/bin/legate /usr/local/bin/envoy
# Istio's proxy uid/gid: iptables rules exempt this uid from capture.
RUN groupadd -g 1337 legate && useradd -u 1337 -g 1337 -s /usr/sbin/nologin -M legate
USER 1337:1337
EXPOSE 9901 10000
# Docker's health check polls the admin /ready once (Kubernetes ignores it and uses the probes in
# config/k8s/). Set LEGATE_ADMIN_PORT when the bootstrap's admin port is not the demo's 9901.
ENV LEGATE_ADMIN_PORT=9901
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s \
  CMD legate wait --admin-port "$LEGATE_ADMIN_PORT" --timeout-seconds 0 --request-timeout-millis 2000
ENTRYPOINT ["node", "/opt/legate/bin/legate"]
CMD ["-c", "/etc/legate/demo.yaml"]
