#!/usr/bin/env bash
# Makes the cluster's mutual-TLS material for docker-compose.yml (TLS is on there by default): a private
# certificate authority and one node certificate it signs, which every node presents and checks its peers
# against (src/Cluster/ClusterTls.cs). A container without a certificate from this authority cannot join.
#
#   deploy/make-certs.sh [DIR]        # default DIR: deploy/certs (what docker-compose.yml mounts)
#
# Writes DIR/node/ca.crt (the authority every node trusts) and DIR/node/node.pfx (the node's key and certificate,
# PKCS#12 with the password in $TLS_PASSWORD, empty by default): DIR/node is what compose mounts at /certs. The
# authority's key, DIR/ca.key, stays outside it, off the nodes. An existing authority is reused, so re-running
# only renews the node certificate; delete DIR to start a new cluster identity.
set -euo pipefail
dir=${1:-"$(cd "$(dirname "$0")" && pwd)/certs"}
days=${CERT_DAYS:-365}
password=${TLS_PASSWORD:-}
command -v openssl >/dev/null || { echo "make-certs: openssl is required (apt-get install openssl)" >&2; exit 1; }
mkdir -p "$dir/node"
umask 077
cd "$dir"

if [ ! -f ca.key ] || [ ! -f node/ca.crt ]; then
  openssl req -x509 -newkey rsa:3072 -sha256 -days "$days" -nodes -keyout ca.key -out node/ca.crt \
    -subj "/CN=Distributed cluster CA $(hostname)-$(date +%Y%m%d%H%M%S)" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
fi

# Host names are not checked (nodes are addressed by container IP); trust comes from the private authority, so one
# certificate can serve every node. serverAuth and clientAuth: each node is both ends of a connection.
openssl req -newkey rsa:3072 -sha256 -nodes -keyout node.key -out node.csr -subj "/CN=distributed-node" 2>/dev/null
printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\n' > node.ext
openssl x509 -req -in node.csr -CA node/ca.crt -CAkey ca.key -CAcreateserial -days "$days" -sha256 \
  -extfile node.ext -out node.crt 2>/dev/null
openssl pkcs12 -export -inkey node.key -in node.crt -out node/node.pfx -passout "pass:$password"
rm -f node.csr node.ext node.key node.crt node/ca.srl ca.srl
# The node images run as root, which reads owner-only files whoever made them.
chmod 755 node
chmod 644 node/ca.crt
chmod 600 ca.key node/node.pfx
echo "make-certs: wrote $dir/node/ca.crt and $dir/node/node.pfx" \
  "(authority: $(openssl x509 -in node/ca.crt -noout -subject | sed 's/^subject=//'))"
