# svgvec server image. The model is not baked in: it lives on a volume at /models, and
# docker-compose.yml pulls it there on first start (`svgvec model pull --if-missing`).
FROM node:20-bookworm-slim AS build
WORKDIR /app
# onnxruntime-node bundles its CPU runtime; skip its install script, which fetches GPU extras.
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production \
    SVGVEC_LISTEN=0.0.0.0:50051 \
    SVGVEC_MODEL_DIR=/models/ViT-B-32__laion2b-s34b-b79k
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY web ./web
# `svgvec` on PATH, for the compose command and health check and for `docker compose exec svgvec svgvec stats`.
# A named volume mounted on /models takes this ownership, so the unprivileged user can pull the model into it.
RUN ln -s /app/bin/svgvec.js /usr/local/bin/svgvec \
    && mkdir -p /models && chown node:node /models
EXPOSE 50051 8080
USER node
CMD ["svgvec", "serve"]
