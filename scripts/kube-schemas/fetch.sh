#!/bin/sh
# Fetches the Go API types of Kubernetes 1.32.3 as Debian trixie packages them
# (golang-k8s-api-dev 0.32.3, golang-k8s-apimachinery-dev 0.32.3) into /tmp/k8sdeb/root,
# using a private apt state dir so the system's apt configuration is left alone.
# generate.ts then reads /tmp/k8sdeb/root/usr/share/gocode/src/k8s.io/.
set -eu
S=/tmp/apt-trixie; mkdir -p $S/lists/partial $S/cache/archives/partial $S/etc
echo 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main' > $S/etc/sources.list
O="-o Dir::State=$S -o Dir::State::Lists=$S/lists -o Dir::Cache=$S/cache -o Dir::Etc::SourceList=$S/etc/sources.list -o Dir::Etc::SourceParts=/nonexistent"
apt-get $O update
mkdir -p /tmp/k8sdeb && cd /tmp/k8sdeb && apt-get $O download golang-k8s-api-dev golang-k8s-apimachinery-dev
for f in golang-k8s-api-dev_*.deb golang-k8s-apimachinery-dev_*.deb; do dpkg-deb -x "$f" root; done
