"""Hosts on one machine, for tests/ops/test_several_hosts.py: network namespaces, or loopback addresses.

    with hosts.network(["temporal", "postgres", "worker-a", "web-a"]) as net:
        net.isolation                  # what separates them, in words (printed by the test)
        net["web-a"].address           # the host's own address
        net["web-a"].command(argv)     # argv, run on that host
        net.gateway                    # the test process's address, as the hosts reach it

As root, each host is a network namespace of its own (``ip netns add``) with one end of a
veth pair; the other ends join a bridge in the test's namespace, which holds the gateway
address: a 10.x.y.0/24 network no route of this machine uses. A process on one host reaches
the others only through their addresses, and nothing of theirs on its own loopback. Where
namespaces are not permitted (not root, a container without CAP_SYS_ADMIN), each host is a
distinct loopback address (127.0.0.2, 127.0.0.3...): separate processes that bind only
their own address, which is as close as one network namespace gets.

ACCORD_TEST_HOSTS_LOOPBACK=1 chooses the fallback even where namespaces are permitted.
Everything made here is removed afterwards; processes started on a host must be stopped
first (a namespace lives as long as a process in it).
"""

from __future__ import annotations

import ipaddress
import os
import random
import secrets
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field

# Set it to run the fallback where namespaces are permitted (to see that it works too).
LOOPBACK_ONLY = "ACCORD_TEST_HOSTS_LOOPBACK"


@dataclass(frozen=True)
class Host:
    name: str
    address: str
    prefix: tuple[str, ...] = ()  # runs a command on this host (empty: here)

    def command(self, argv: Sequence[str]) -> list[str]:
        return [*self.prefix, *argv]


@dataclass
class Network:
    isolation: str
    gateway: str
    subnet: str  # every host's address is in it (for a server's access list)
    namespaces: bool  # True: each host a namespace of its own; False: loopback addresses
    hosts: dict[str, Host] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Host:
        return self.hosts[name]


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise OSError(f"ip {' '.join(args)}: {done.stderr.strip() or done.returncode}")


def _free_subnet() -> ipaddress.IPv4Network:
    """A 10.x.y.0/24 that no address or route of this machine overlaps."""
    used = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True, check=False).stdout
    used += subprocess.run(["ip", "-4", "route"], capture_output=True, text=True, check=False).stdout
    taken = [ipaddress.ip_network(word, strict=False) for word in used.split()
             if "/" in word and word[0].isdigit()]
    rng = random.SystemRandom()
    while True:
        subnet = ipaddress.ip_network(f"10.{rng.randrange(100, 250)}.{rng.randrange(0, 256)}.0/24")
        if not any(subnet.overlaps(t) for t in taken):
            return subnet


@contextmanager
def _namespaces(names: Sequence[str]) -> Iterator[Network]:
    tag = secrets.token_hex(3)
    subnet = _free_subnet()
    addresses = list(subnet.hosts())
    bridge = f"acb{tag}"
    with ExitStack() as cleanup:
        _ip("link", "add", bridge, "type", "bridge")
        cleanup.callback(_ip, "link", "del", bridge)
        _ip("addr", "add", f"{addresses[0]}/{subnet.prefixlen}", "dev", bridge)
        _ip("link", "set", bridge, "up")
        net = Network(f"network namespaces: each host its own namespace and address on {subnet}, "
                      f"joined by a bridge", str(addresses[0]), str(subnet), namespaces=True)
        for n, name in enumerate(names, 1):
            namespace, outside, inside = f"accord-{tag}-{name}", f"av{tag}{n:02d}", f"aw{tag}{n:02d}"
            _ip("netns", "add", namespace)
            cleanup.callback(_ip, "netns", "del", namespace)
            _ip("link", "add", outside, "type", "veth", "peer", "name", inside)
            cleanup.callback(subprocess.run, ["ip", "link", "del", outside], capture_output=True, check=False)
            _ip("link", "set", inside, "netns", namespace)
            _ip("link", "set", outside, "master", bridge)
            _ip("link", "set", outside, "up")
            address = str(addresses[9 + n])
            _ip("-n", namespace, "addr", "add", f"{address}/{subnet.prefixlen}", "dev", inside)
            _ip("-n", namespace, "link", "set", inside, "up")
            _ip("-n", namespace, "link", "set", "lo", "up")
            net.hosts[name] = Host(name, address, ("ip", "netns", "exec", namespace))
        yield net


def _loopback(names: Sequence[str], why: str) -> Network:
    net = Network(f"loopback addresses, one per host, separate processes (network namespaces: {why})", "127.0.0.1",
                  "127.0.0.0/8", namespaces=False)
    for n, name in enumerate(names, 2):
        net.hosts[name] = Host(name, f"127.0.0.{n}")
    return net


def _why_not_namespaces() -> str | None:
    """None if this process may make network namespaces, else why not."""
    if os.environ.get(LOOPBACK_ONLY):
        return f"{LOOPBACK_ONLY} is set"
    probe = f"accord-probe-{secrets.token_hex(3)}"
    try:
        _ip("netns", "add", probe)
    except (OSError, FileNotFoundError) as exc:  # not root, no CAP_SYS_ADMIN, no iproute2
        return f"not permitted here: {exc}"
    _ip("netns", "del", probe)
    return None


@contextmanager
def network(names: Sequence[str]) -> Iterator[Network]:
    """The hosts, as namespaces where permitted, else as loopback addresses."""
    why = _why_not_namespaces()
    if why is not None:
        yield _loopback(names, why)
        return
    with _namespaces(names) as net:
        yield net
