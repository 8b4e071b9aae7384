# The production image: one binary with its pages, static files and configuration.
#
#   docker build -t emporium .
#   docker run --env-file shop.env -p 5150:5150 emporium               # web
#   docker run --env-file shop.env emporium task work_jobs             # worker
#   docker run --env-file shop.env emporium scheduler                  # scheduler (one only)
#
# Configuration comes from the environment only (README "Configuration", "Deployment").
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin emporium-cli

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates tini \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home-dir /app --uid 10001 emporium
WORKDIR /app
# Pages and static files are read from ./assets, configuration from ./config.
COPY --from=build /src/target/release/emporium-cli /usr/local/bin/emporium-cli
COPY --from=build /src/assets ./assets
COPY --from=build /src/config ./config
USER emporium
ENV LOCO_ENV=production BIND=0.0.0.0 PORT=5150
# Orchestrators probe GET /_health on the web port (database and queue).
EXPOSE 5150
ENTRYPOINT ["tini", "--", "emporium-cli"]
CMD ["start"]
