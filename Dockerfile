# svgvec server image. The model is not baked in: pull it into the /models volume
# (docker-compose.yml does so on first start).
FROM node:20-bookworm-slim AS build
WORKDIR /app
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

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
# A named volume mounted here takes this ownership, so the model can be pulled as node.
RUN mkdir -p /models && chown node:node /models
EXPOSE 50051
USER node
CMD ["node", "dist/cli/main.js", "serve"]
