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

# Runtime: node:20 slim, non-root, the compiled server as entrypoint.
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /src/package.json ./
COPY --from=deps /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
RUN mkdir -p /data /certs && chown 65532:65532 /data /certs
USER 65532:65532
EXPOSE 8443
ENTRYPOINT ["node", "dist/main.js", "--bind-address=0.0.0.0", "--data-dir=/data", "--cert-dir=/certs"]
