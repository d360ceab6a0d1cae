# One image per service: docker build --build-arg SERVICE=capacity -t allot-capacity .
# Node 26 is the current LTS line. Build stage: the whole workspace with its dev tools; runtime
# stage: the compiled service and its production dependencies, run by node itself as PID 1 (it
# handles SIGTERM: stop intake, finish in-flight work, drain NATS, exit 0 within 10 s).
ARG NODE_IMAGE=node:26-bookworm-slim

FROM ${NODE_IMAGE} AS build
ARG SERVICE
WORKDIR /src
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml ./
RUN npm install -g --no-fund --no-audit "pnpm@$(node -p "require('./package.json').packageManager.split('@')[1]")"
COPY . .
RUN --mount=type=cache,id=pnpm-store,target=/root/.local/share/pnpm/store \
    CI=true pnpm install --frozen-lockfile \
 && PNPM=pnpm bash tools/image-build/build-service.sh "${SERVICE:?--build-arg SERVICE=<name> is required}" /out

FROM ${NODE_IMAGE}
ARG SERVICE
ENV NODE_ENV=production \
    SERVICE=${SERVICE}
WORKDIR /app
# Owned by root and not writable by the service user: with a read-only root filesystem too,
# nothing in the image can be changed at run time.
COPY --from=build /out/node_modules ./node_modules
COPY --from=build /out/dist ./dist
USER node
EXPOSE 8080
ENTRYPOINT ["node", "--enable-source-maps", "dist/main.js"]
