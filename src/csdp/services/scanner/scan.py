#!/usr/bin/python3
"""Run an nmap TCP connect scan and print the result as one JSON object.

Usage: scan --ports PORTS [--timing N] -- ADDRESS...

The platform has already checked that every address is one of the caller's
own containers. A connect scan (-sT) needs no raw socket, so the container
runs without NET_RAW; for the same reason there is no UDP or SYN scan and no
ping: every address is scanned as if up (-Pn). IPv4 and IPv6 addresses are
scanned in separate nmap runs, because one run takes one address family.
The result lists each host with its address, state and ports (port,
protocol, state, reason, service), parsed from nmap's XML output.
"""

import argparse
import ipaddress
import json
import subprocess
import sys
import xml.etree.ElementTree as ElementTree


def parse_xml(text: str) -> list[dict]:
    hosts = []
    root = ElementTree.fromstring(text)
    for host in root.iter("host"):
        address = host.find("address")
        status = host.find("status")
        ports = []
        for port in host.iter("port"):
            state = port.find("state")
            service = port.find("service")
            ports.append({
                "port": int(port.get("portid")),
                "protocol": port.get("protocol"),
                "state": state.get("state") if state is not None else None,
                "reason": state.get("reason") if state is not None else None,
                "service": service.get("name") if service is not None else None,
            })
        hosts.append({
            "address": address.get("addr") if address is not None else None,
            "state": status.get("state") if status is not None else None,
            "ports": ports,
        })
    return hosts


def run_nmap(addresses: list[str], ports: str, timing: int, ipv6: bool) -> list[dict]:
    command = ["nmap", "-sT", "-Pn", "-n", "--unprivileged", f"-T{timing}", "-p", ports, "-oX", "-"]
    if ipv6:
        command.append("-6")
    result = subprocess.run([*command, *addresses], capture_output=True, text=True, timeout=3000)
    if result.returncode != 0:
        raise RuntimeError(f"nmap exited with status {result.returncode}: {result.stderr.strip()}")
    return parse_xml(result.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(prog="scan")
    parser.add_argument("--ports", required=True)
    parser.add_argument("--timing", type=int, default=4, choices=range(0, 6))
    parser.add_argument("addresses", nargs="+")
    options = parser.parse_args()

    families: dict[bool, list[str]] = {False: [], True: []}
    for text in options.addresses:
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            print(f"scan: {text!r} is not an IP address", file=sys.stderr)
            return 2
        families[address.version == 6].append(str(address))

    hosts = []
    try:
        for ipv6, addresses in families.items():
            if addresses:
                hosts += run_nmap(addresses, options.ports, options.timing, ipv6)
    except (RuntimeError, ElementTree.ParseError, subprocess.TimeoutExpired) as exc:
        print(f"scan: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({"scan": "tcp connect", "ports": options.ports, "hosts": hosts}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
