# PerpDesk image: compiled JavaScript on the current Node LTS, production dependencies only, non-root.
# BASE_IMAGE lets a machine without a registry build from a local base (scripts/docker-smoke.sh makes one from
# Debian packages); it must provide node, npm and a `node` user with uid 1000.
ARG BASE_IMAGE=node:26-bookworm-slim

FROM ${BASE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.mjs scripts/
COPY src src
COPY commands commands
COPY jobs jobs
# TypeScript stays after the prune as valibot's optional peer (bull-board's validator): it is types only, 23 MB.
RUN node scripts/build.mjs --force && npm prune --omit=dev --no-audit --no-fund --loglevel=error && rm -rf node_modules/typescript

FROM ${BASE_IMAGE}
# Fonts for the backtest chart's labels (resvg draws text with system fonts). Skipped when the base has them.
RUN if ! ls /usr/share/fonts/truetype/dejavu >/dev/null 2>&1; then \
      apt-get update -qq && apt-get install -y -qq --no-install-recommends fonts-dejavu-core && rm -rf /var/lib/apt/lists/*; \
    fi
ENV NODE_ENV=production \
    DATA_DIR=/data \
    HTTP_PORT=8080
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY data data
RUN mkdir -p /data /app/out && chown node:node /data /app/out
USER node
VOLUME /data
EXPOSE 8080 8081 8090
# /readyz answers 200 once Redis answers; a worker serves the same on WORKER_HTTP_PORT, the paper exchange /api/v1.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "const p=process.env.HEALTH_URL||'http://127.0.0.1:'+(process.env.HTTP_PORT||8080)+'/readyz';fetch(p).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
STOPSIGNAL SIGTERM
CMD ["node", "--enable-source-maps", "--max-semi-space-size=2", "dist/src/main.js"]
