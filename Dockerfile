# One image for every service; the container's command picks which one runs.
# Node 24 LTS: the same runtime the repository pins through its `node` devDependency.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.base.json ./
COPY libs ./libs
COPY services ./services
COPY cli ./cli
COPY test/package.json ./test/package.json
COPY bench/package.json ./bench/package.json
RUN npm ci --ignore-scripts=false && npx tsc -b services/all-in-one cli/geoctl && npm prune --omit=dev

FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app /app
USER node
# Overridden per service in docker-compose.yml and the Kubernetes manifests.
CMD ["node", "services/coordinator/dist/main.js", "--config", "/etc/geo/geo.yaml"]
