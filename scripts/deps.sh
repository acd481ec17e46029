#!/usr/bin/env bash
# deps.sh: install every Debian package that trawl's build, tests, benchmarks
# and demo need. Idempotent and quiet when all is present; apt-get update runs
# only when something is missing. Called by `make demo` and `make test`.
set -euo pipefail

PKGS=(
  # build
  build-essential cmake pkg-config
  # libtrawl and trawl
  libpcap-dev libc-ares-dev liblua5.4-dev libpcre2-dev libssl-dev liburing-dev
  # data read at run time, never copied into this repository: Nmap's
  # databases, scripts and nselib (nmap-common), p0f's fingerprints (p0f),
  # LPeg for Nmap's nselib (lua-lpeg)
  nmap-common p0f lua-lpeg
  # tests
  libcmocka-dev clang strace libcap2-bin libxml2-utils xsltproc iproute2 nftables tcpdump socat
  iputils-ping dnsmasq nginx openssh-server python3
  # lab (tests/lab): certificates, checks from the scanner namespace
  openssl util-linux procps curl bind9-dnsutils python3-scapy
  # daemon lab (tests/lab/lab.sh services, issues 10 and 12): real servers
  # that lab.sh starts inside namespaces only (never on the host, see the
  # policy-rc.d below), and the clients test_lab_services.sh checks them with
  vsftpd exim4-daemon-light dovecot-imapd dovecot-pop3d redis-server memcached
  mosquitto snmpd snmp postgresql mariadb-server samba smbclient lighttpd
  lighttpd-mod-openssl rsync openbsd-inetd inetutils-telnetd tinyproxy
  # scale-out (issue 15): test_slurm.sh runs its own slurmctld, slurmd and
  # munged on loopback (never the host's services: policy-rc.d below);
  # test_k8s_manifests.sh checks deploy/k8s/ against the API models of
  # Debian's Kubernetes client
  slurmctld slurmd slurm-client munge python3-kubernetes python3-yaml
  # benchmarks: peers and reference libraries
  libuv1-dev libev-dev nmap ndiff masscan zmap
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "deps.sh: missing packages (${missing[*]}); run as root to install them" >&2
  exit 1
fi
echo "deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# Services installed here must not start on the host: the lab starts its own
# instances inside network namespaces.
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
chmod +x /usr/sbin/policy-rc.d
trap 'rm -f /usr/sbin/policy-rc.d' EXIT
apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends "${missing[@]}" >/dev/null
