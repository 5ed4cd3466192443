"""Configuration for what runs beside Parley in production (docs/deploy.md)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

# The values the documented configuration carries, replaced by `nginx_config`.
LISTEN = "listen 80;"
APP = "server 127.0.0.1:8000;"
MEDIA_DIR = "/var/lib/parley/data/media"
SECRET = "CHANGE-ME-media-url-secret"


def nginx_template() -> str:
    """The nginx configuration of docs/deploy.md, as shipped in the package."""
    return files("parley.deploy").joinpath("nginx.conf").read_text()


def nginx_config(*, listen: str, app: str, media_dir: Path, secret: str) -> str:
    """The documented configuration with this deployment's values: `listen` as nginx writes it
    ("80", "127.0.0.1:8080"), `app` the Parley server's host:port."""
    for value in (listen, app, secret, str(media_dir)):
        if any(c in value for c in ';{}"\n\\'):
            raise ValueError(f"not usable in an nginx configuration: {value!r}")
    return (
        nginx_template()
        .replace(LISTEN, f"listen {listen};")
        .replace(APP, f"server {app};")
        .replace(MEDIA_DIR, str(media_dir.resolve()))
        .replace(SECRET, secret)
    )


def standalone_nginx(config: str, run_dir: Path, *, workers: int = 1, as_root: bool = False) -> str:
    """A whole nginx.conf that runs `config` in the foreground with its files under `run_dir`
    (the tests and benchmarks run Debian's nginx this way, beside a test server)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    temp = {name: run_dir / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    return "\n".join(
        [
            "daemon off;",
            # Root only where the test's own media folder is private to root.
            "user root;" if as_root else "",
            f"worker_processes {workers};",
            f"pid {run_dir / 'nginx.pid'};",
            f"error_log {run_dir / 'error.log'} warn;",
            "events { worker_connections 4096; }",
            "http {",
            "    access_log off;",
            *(f"    {name}_temp_path {path};" for name, path in temp.items() if name != "body"),
            f"    client_body_temp_path {temp['body']};",
            "    keepalive_requests 100000;",
            config,
            "}",
        ]
    )
