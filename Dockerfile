# Multi-stage: build with the Rust toolchain, ship only the binary on a distroless base that
# has CA certificates and glibc, running as a non-root user. The user is numeric (distroless's
# nonroot, 65532) so that the kubelet can check runAsNonRoot without reading /etc/passwd.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY benches ./benches
COPY tests ./tests
# The workspace's other members: the core crate, and the fake API server Cargo reads with the
# root manifest.
COPY crates ./crates
RUN cargo build --release --locked --bin ekas

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/ekas /usr/local/bin/ekas
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/ekas"]
CMD ["run"]
