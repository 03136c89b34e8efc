// Whole specs shared by the loader and model tests.
#pragma once

namespace berth::spec::test_util {

// The example in PRODUCT.md ("Environment spec"), verbatim.
inline constexpr char kProductExample[] = R"yaml(name: shop-${team}
x-berth:
  params: {team: {required: true, pattern: "^[a-z][a-z0-9-]{0,30}$"}}
  secrets: {db_password: {generate: 32}}
services:
  api:
    image: host                      # host filesystem read-only; or rootfs:/path; OCI images later
    command: ["gunicorn", "-w", "4", "-b", "0.0.0.0:8000", "app:app"]
    working_dir: /srv/app
    environment: {DATABASE_URL: "postgresql://app:${secret.db_password}@db:5432/app"}
    volumes: ["./app:/srv/app:ro"]
    deploy: {resources: {limits: {cpus: "0.5", memory: 256M}}}
    healthcheck: {test: ["CMD", "python3", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/health')"], interval: 5s, start_period: 30s}
    restart: always
    x-berth:
      expose: {port: 8000}           # route api.shop-<team>.<domain>
      concurrency: {limit: 10, queue: 100, queue_timeout: 10s}
      scale: {min: 0, max: 4}
  db:
    image: host
    user: postgres
    command: ["/usr/lib/postgresql/15/bin/postgres", "-D", "/data", "-k", "/tmp"]
    volumes: ["pgdata:/data"]
volumes: {pgdata: {}}
)yaml";

// A compose.yaml of the kind people already have: anchors, env lists, healthchecks,
// deploy blocks, and a few keys Berth does not honour.
inline constexpr char kRealWorldCompose[] = R"yaml(version: "3.9"

x-app: &app
  image: host
  working_dir: /srv/app
  env_file: .env
  environment: &app-env
    - DATABASE_URL=postgresql://app:${POSTGRES_PASSWORD:-devpass}@db:5432/app
    - REDIS_URL=redis://redis:6379/0
    - DEBUG
  volumes:
    - ./src:/srv/app:ro
  depends_on:
    db:
      condition: service_healthy
    redis:
      condition: service_started
  restart: unless-stopped

services:
  web:
    <<: *app
    command: gunicorn --workers 4 --bind 0.0.0.0:8000 shop.wsgi:application
    ports:
      - "8000:8000"
    healthcheck:
      test: ["CMD-SHELL", "curl -fsS http://localhost:8000/healthz || exit 1"]
      interval: 10s
      timeout: 3s
      retries: 5
      start_period: 20s
    deploy:
      replicas: 2
      resources:
        limits:
          cpus: '1.0'
          memory: 512M
        reservations:
          memory: 256M
    x-berth:
      expose: 8000

  worker:
    <<: *app
    command: ["celery", "-A", "shop", "worker", "-l", "info"]
    deploy:
      replicas: 1
      restart_policy:
        condition: on-failure
        max_attempts: 5

  db:
    image: host
    user: postgres
    command: postgres -D /var/lib/postgresql/data -k /tmp
    environment:
      POSTGRES_USER: app
      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:-devpass}
      POSTGRES_DB: app
    volumes:
      - pgdata:/var/lib/postgresql/data
    healthcheck:
      test: ["CMD", "pg_isready", "-U", "app"]
      interval: 5s
      timeout: 5s
      retries: 10
    networks: [backend]

  redis:
    image: host
    command: ["redis-server", "--appendonly", "yes"]
    volumes:
      - redisdata:/data
    healthcheck:
      test: ["TCP", "6379"]

volumes:
  pgdata:
  redisdata:
    labels:
      backup: "daily"

networks:
  backend:
)yaml";

}  // namespace berth::spec::test_util
