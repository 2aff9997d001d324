"""deploy/: the nginx site rendered from its template is one nginx accepts (with TLS and without),
the committed example is that rendering, and the units and settings say what the docs say.

`nginx -t` needs Debian's nginx: skipped locally without it, a failure under CI=true (.ci/run
installs it). The national-mode browser test (tests/functional/test_e2e_national.py) runs the
rendered site for real.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from pathlib import Path

import pytest

from deploy.national import ROOT, nginx_binary, render_nginx, standalone_conf

DEPLOY = ROOT / "deploy"
EXAMPLE_ARGS = dict(
    backends=["127.0.0.1:8501", "127.0.0.1:8502"],
    listen="443",
    server_name="ikc.example.go.id",
    cert="/etc/letsencrypt/live/ikc.example.go.id/fullchain.pem",
    key="/etc/letsencrypt/live/ikc.example.go.id/privkey.pem",
)


def _self_signed(tmp: Path) -> tuple[str, str]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    (tmp / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return str(tmp / "cert.pem"), str(tmp / "key.pem")


def test_the_committed_example_is_the_template_rendered() -> None:
    assert (DEPLOY / "nginx" / "smartcity.conf").read_text(encoding="utf-8") == render_nginx(**EXAMPLE_ARGS)


def test_tls_site_redirects_http_and_marks_the_routing_cookie_secure() -> None:
    site = render_nginx(**EXAMPLE_ARGS)
    assert "return 301 https://$host$request_uri;" in site
    assert "listen 443 ssl http2;" in site and "ssl_certificate_key " in site
    assert "SameSite=Lax; Secure" in site
    plain = render_nginx(["127.0.0.1:8501"], listen="127.0.0.1:8080")
    assert "ssl_certificate" not in plain and "return 301" not in plain and "Secure" not in plain
    for text in (site, plain):
        assert "hash $ikc_route consistent;" in text
        assert "proxy_set_header Upgrade $http_upgrade;" in text
        assert "client_max_body_size 11m;" in text


def test_the_body_limit_covers_the_products_upload_cap() -> None:
    import tomllib

    from metrics.evidence import MAX_FILE_BYTES
    from metrics.readers import DEFAULT_LIMITS

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    cap_mb = config["server"]["maxUploadSize"]
    assert max(DEFAULT_LIMITS.max_bytes, MAX_FILE_BYTES) == cap_mb * 1024 * 1024
    assert f"client_max_body_size {cap_mb + 1}m;" in render_nginx(["127.0.0.1:8501"])


def test_render_refuses_half_a_certificate_or_no_backend() -> None:
    with pytest.raises(ValueError):
        render_nginx(["127.0.0.1:8501"], cert="/c.pem")
    with pytest.raises(ValueError):
        render_nginx([])


def test_nginx_accepts_both_renderings(tmp_path: Path) -> None:
    binary = nginx_binary()
    if binary is None:
        msg = "nginx not found (apt-get install nginx)"
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    cert, key = _self_signed(tmp_path)
    sites = {
        "tls": render_nginx(
            ["127.0.0.1:8501", "127.0.0.1:8502"],
            listen="127.0.0.1:8443",
            server_name="localhost",
            cert=cert,
            key=key,
        ),
        "plain": render_nginx(["127.0.0.1:8501"], listen="127.0.0.1:8080"),
    }
    for name, site in sites.items():
        conf = tmp_path / f"{name}.conf"
        conf.write_text(standalone_conf(site, tmp_path), encoding="utf-8")
        out = subprocess.run(
            [binary, "-p", str(tmp_path), "-e", str(tmp_path / "error.log"), "-c", str(conf), "-t"],
            capture_output=True,
            text=True,
        )
        assert out.returncode == 0, f"{name}: {out.stderr}"


def test_units_start_the_served_dashboard_with_the_shared_settings() -> None:
    unit = (DEPLOY / "systemd" / "smartcity@.service").read_text(encoding="utf-8")
    assert "-m ui.serve --server.port %i" in unit
    assert "EnvironmentFile=/etc/smartcity/smartcity.env" in unit
    assert "WantedBy=smartcity.target" in unit and "PartOf=smartcity.target" in unit
    env = dict(
        line.split("=", 1)
        for line in (DEPLOY / "systemd" / "smartcity.env.example").read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    )
    assert env["SMARTCITY_DB"].startswith("postgresql://")
    for name in ("SMARTCITY_STATE_DIR", "STREAMLIT_SERVER_COOKIE_SECRET", "SMARTCITY_LISTEN_ADDRESS"):
        assert env[name]
    from metrics.keys import STATE_DIR_ENV
    from metrics.store.pg.connection import POOL_ENV

    assert STATE_DIR_ENV in env and POOL_ENV in env
    timer = (DEPLOY / "systemd" / "smartcity-backup.timer").read_text(encoding="utf-8")
    assert "OnCalendar=" in timer
    backup = (DEPLOY / "backup.sh").read_text(encoding="utf-8")
    assert "pg_dump --format=custom" in backup and "-m metrics --db" in backup and " backup -o " in backup


def test_pgbouncer_example_uses_session_pooling() -> None:
    """Transaction pooling would let the store's migration lock leak (docs/national-mode.md)."""
    lines = (DEPLOY / "pgbouncer" / "pgbouncer.ini").read_text(encoding="utf-8").splitlines()
    modes = [ln.split("=", 1)[1].strip() for ln in lines if ln.startswith("pool_mode")]
    assert modes == ["session"]
