# The serving image's base, as the release builds it (docs/release.md, "Base image").
# `lastmile release prepare` reads the FROM line below and the release workflow passes it to the
# build as BASE_IMAGE; Dependabot (docker ecosystem, .github/dependabot.yml) keeps it current.
# Pin it by digest once, from a machine that reaches Docker Hub, then Dependabot moves the digest:
#   docker buildx imagetools inspect python:3.11-slim --format '{{json .Manifest.Digest}}'
#   FROM python:3.11-slim@sha256:<that digest>
FROM python:3.11-slim
