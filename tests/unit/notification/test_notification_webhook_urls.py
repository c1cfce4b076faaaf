"""Webhook URLs: http(s) only, and in production never an address inside the platform's network."""

from __future__ import annotations

import socket

import pytest

from services.notification.endpoints import UnsafeUrl, check_url


def resolver(*addresses):
    """A stand-in for getaddrinfo answering with fixed addresses."""

    def resolve(host, port, proto=0):
        family = socket.AF_INET6 if any(":" in a for a in addresses) else socket.AF_INET
        return [(family, socket.SOCK_STREAM, proto, "", (address, port)) for address in addresses]

    return resolve


def unresolvable(host, port, proto=0):
    raise socket.gaierror("Name or service not known")


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.9",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "240.0.0.1",
        "224.0.0.1",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",
    ],
)
def test_production_refuses_hosts_that_resolve_inside_the_network(address):
    with pytest.raises(UnsafeUrl, match="non-public"):
        check_url("https://hooks.example.com/stint", production=True, resolve=resolver(address))


def test_production_refuses_a_host_when_any_of_its_addresses_is_private():
    with pytest.raises(UnsafeUrl):
        check_url("https://hooks.example.com/", production=True, resolve=resolver("93.184.216.34", "10.0.0.1"))


def test_production_accepts_a_public_host():
    check_url("https://hooks.example.com/stint", production=True, resolve=resolver("93.184.216.34"))
    check_url("http://hooks.example.com:8080/", production=True, resolve=resolver("2606:2800:220:1::1"))


def test_production_refuses_a_host_that_does_not_resolve():
    with pytest.raises(UnsafeUrl, match="does not resolve"):
        check_url("https://nowhere.invalid/", production=True, resolve=unresolvable)


def test_production_resolves_literal_addresses_too():
    with pytest.raises(UnsafeUrl):
        check_url("http://127.0.0.1:9000/hook", production=True)
    with pytest.raises(UnsafeUrl):
        check_url("http://[::1]/hook", production=True)


def test_dev_and_test_allow_a_local_receiver():
    check_url("http://127.0.0.1:9000/hook", production=False, resolve=unresolvable)


@pytest.mark.parametrize(
    "url",
    ["ftp://hooks.example.com/", "file:///etc/passwd", "javascript:alert(1)", "http:///nohost", "https://u:p@h.com/"],
)
def test_only_plain_http_or_https_urls_with_a_host_are_accepted(url):
    with pytest.raises(UnsafeUrl):
        check_url(url, production=False)
