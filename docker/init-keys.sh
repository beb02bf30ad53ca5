#!/bin/sh
# hartslag-init-keys: the one-shot key and configuration service of
# docker/compose.yaml. Idempotent: what exists is kept, what is missing is
# created, so it runs at every `docker compose up` and changes nothing the
# second time.
#
# It creates, in the volumes compose mounts:
#   $SECRETS/broker/broker.cert_secret        the broker's keys (broker only)
#   $SECRETS/ORG/ORG.cert_secret              each partner's keys
#   $SECRETS/pseudonymd/SVC.cert_secret       the pseudonym service's keys and
#   $SECRETS/pseudonymd/SVC.oprf_secret       its OPRF key (SVC: its org id; in
#                                             no other volume: neither the broker
#                                             nor a partner ever holds it)
#   $ETC/broker.cert                          the broker's public certificate
#   $ETC/pseudonymd.cert                      the pseudonym service's public
#                                             certificate (its OPRF public key)
#   $ETC/certificates/ORG.cert                the partnership's trust list
#   $ETC/agreements.yaml                      a copy of the example agreements,
#   $ETC/agreements.yaml.sig.d/ORG.sig        signed by every partner in it
#   $ETC/broker.yaml, $ETC/ORG.yaml,          configurations for the containers
#   $ETC/pseudonymd.yaml
#   $ETC/keys/                                empty: where each container mounts
#                                             its own secret volume
#
# Every setting below can be overridden from the environment (the test
# tests/integration/test_docker_refs.c runs this script outside Docker).
set -eu

ETC=${HARTSLAG_ETC:-/etc/hartslag}                  # the shared, public volume
SECRETS=${HARTSLAG_SECRETS:-/secrets}               # one secret volume per service under it
STATE=${HARTSLAG_STATE:-/var/lib/hartslag}          # where each container mounts its state
EXAMPLES=${HARTSLAG_EXAMPLES:-/usr/local/share/hartslag/examples}
ORGS=${HARTSLAG_ORGS:-gemeente politie welzijn}
COORDINATOR=${HARTSLAG_COORDINATOR:-gemeente}
BROKER_ENDPOINT=${HARTSLAG_BROKER_ENDPOINT:-tcp://broker:7455}
BROKER_BIND=${HARTSLAG_BROKER_BIND:-tcp://0.0.0.0:7455}
SERVICE_ORG=${HARTSLAG_PSEUDONYM_ORG:-pseudoniemdienst}      # the pseudonym service's org id
SERVICE_ENDPOINT=${HARTSLAG_PSEUDONYM_ENDPOINT:-tcp://pseudonymd:7456}
SERVICE_BIND=${HARTSLAG_PSEUDONYM_BIND:-tcp://0.0.0.0:7456}
OWNER=${HARTSLAG_OWNER:-10001:10001}                # uid:gid of the image's hartslag user
HARTSLAG=${HARTSLAG_CLI:-hartslag}

say() { printf 'hartslag-init-keys: %s\n' "$*" >&2; }
die() {
    say "$*"
    exit 1
}

umask 077
[ -d "$EXAMPLES" ] || die "no example configurations in $EXAMPLES (set HARTSLAG_EXAMPLES)"
mkdir -p "$ETC/certificates" "$ETC/keys" "$SECRETS/broker"
chmod 0755 "$ETC" "$ETC/certificates" "$ETC/keys"

# Writes FILE from stdin unless it exists (an operator's edit is kept).
write_once() {
    if [ -e "$1" ]; then
        cat >/dev/null
        say "kept $1"
    else
        cat >"$1"
        chmod 0644 "$1"
        say "wrote $1"
    fi
}

# 1. The broker's keys (CURVE and Ed25519; it has no box key).
if [ ! -e "$SECRETS/broker/broker.cert_secret" ]; then
    "$HARTSLAG" keys broker --out "$SECRETS/broker" --name "Hartslag broker" >/dev/null
    say "created the broker's keys"
fi
cp "$SECRETS/broker/broker.cert" "$ETC/broker.cert"
chmod 0644 "$ETC/broker.cert"

# A partner's keys unless they exist ($2 is added to the message); its
# public certificate goes into the trust list.
partner_keys() {
    org=$1
    dir="$SECRETS/$org"
    mkdir -p "$dir"
    if [ ! -e "$dir/$org.cert_secret" ]; then
        role=partner
        [ "$org" = "$COORDINATOR" ] && role=coordinator
        "$HARTSLAG" keys init --org "$org" --name "$org (Hartslag compose)" --role "$role" \
            --contact "hartslag@$org.example" --out "$dir" >/dev/null
        say "created the keys of $org ($role)$2"
    fi
    cp "$dir/$org.cert" "$ETC/certificates/$org.cert"
    chmod 0644 "$ETC/certificates/$org.cert"
}

# 2. Each partner's keys.
for org in $ORGS; do
    partner_keys "$org" ""
done

# 3. The pseudonym service's keys (docs/pseudonyms.md). The partnership's
#    shared pseudonym key is retired: a volume or configuration from before
#    is refused rather than silently kept next to the service.
for f in "$SECRETS"/*/pseudonym.key; do
    [ ! -e "$f" ] ||
        die "$f: the shared pseudonym key is retired (docs/pseudonyms.md, \"Moving from the shared key\"); delete every copy of it, then run again"
done
for org in $ORGS; do
    [ ! -e "$ETC/$org.yaml" ] || ! grep -q '^pseudonym_key:' "$ETC/$org.yaml" ||
        die "$ETC/$org.yaml names the retired pseudonym_key: replace it with 'pseudonym_service: $SERVICE_ENDPOINT' and 'pseudonym_service_cert: pseudonymd.cert' (or delete the file to have it written again), then run again"
done
sdir="$SECRETS/pseudonymd"
mkdir -p "$sdir"
for f in "$sdir"/*.oprf_secret; do
    if [ -e "$f" ] && [ "$f" != "$sdir/$SERVICE_ORG.oprf_secret" ]; then
        die "$f: $sdir holds the OPRF key of another service than $SERVICE_ORG (HARTSLAG_PSEUDONYM_ORG); a second key would give every subject a new pseudonym"
    fi
done
have=0
for f in "$SERVICE_ORG.cert" "$SERVICE_ORG.cert_secret" "$SERVICE_ORG.oprf_secret"; do
    if [ -e "$sdir/$f" ]; then have=$((have + 1)); fi
done
if [ "$have" = 0 ]; then
    "$HARTSLAG" keys pseudonym-service --org "$SERVICE_ORG" --name "Pseudonym service (Hartslag compose)" \
        --contact "hartslag@$SERVICE_ORG.example" --out "$sdir" >/dev/null
    say "created the pseudonym service's keys ($SERVICE_ORG)"
elif [ "$have" != 3 ]; then
    die "$sdir holds only some of $SERVICE_ORG.cert, $SERVICE_ORG.cert_secret and $SERVICE_ORG.oprf_secret: restore the missing ones from the backup (a new OPRF key gives every subject a new pseudonym), or empty $sdir to start a new partnership"
fi
cp "$sdir/$SERVICE_ORG.cert" "$ETC/pseudonymd.cert"
chmod 0644 "$ETC/pseudonymd.cert"

# 4. The agreements and the configurations. Relative paths resolve against
#    the configuration file's directory ($ETC), where each container mounts
#    its own secret volume at keys/.
fresh_agreements=no
[ -e "$ETC/agreements.yaml" ] || { cp "$EXAMPLES/agreements.yaml" "$ETC/agreements.yaml" &&
    chmod 0644 "$ETC/agreements.yaml" && fresh_agreements=yes && say "wrote $ETC/agreements.yaml"; }

# 4a. The broker enforces only agreements every partner in them signed
#     (docs/agreements.md). For the example agreements written just now,
#     every partner they name signs here: those without a container in
#     this compose file (the example's woonpunt and ggd) get keys and a
#     certificate too, as a real partner would have. An agreements file of
#     the operator's own is left alone: its partners sign it themselves
#     (hartslag agreements sign), before the broker starts.
if [ "$fresh_agreements" = yes ]; then
    signers=$(sed -n 's/^  - org: *\([a-z0-9_-]*\).*/\1/p' "$ETC/agreements.yaml")
    work=$(mktemp -d)
    for org in $signers; do
        partner_keys "$org" ", to sign the agreements"
        dir="$SECRETS/$org"
        cat >"$work/$org.yaml" <<EOF
org: $org
keys: $dir/$org.cert_secret
broker: $BROKER_ENDPOINT
broker_cert: $ETC/broker.cert
certificates: $ETC/certificates
agreements: $ETC/agreements.yaml
pseudonym_service: $SERVICE_ENDPOINT
pseudonym_service_cert: $ETC/pseudonymd.cert
state_dir: $work/state
EOF
        "$HARTSLAG" agreements sign --config "$work/$org.yaml" --yes "$ETC/agreements.yaml" \
            >/dev/null || die "$org could not sign $ETC/agreements.yaml"
    done
    rm -rf "$work"
    chmod 0755 "$ETC/agreements.yaml.sig.d"
    chmod 0644 "$ETC/agreements.yaml.sig.d"/*.sig
    say "every partner signed $ETC/agreements.yaml"
fi

write_once "$ETC/broker.yaml" <<EOF
# hartslag-broker in docker/compose.yaml (written by hartslag-init-keys).
# Inside the compose network the broker must listen on every interface:
# the partner containers reach it as "broker". Publish the port only
# towards the partners' networks.
bind: $BROKER_BIND
state_dir: $STATE/broker
certificates: certificates
keys: keys/broker.cert_secret
agreements: agreements.yaml
log_level: info
EOF

# The pseudonym service: its store (audit log, limit alerts) in its own
# state volume, which the image creates 0700 for uid 10001.
write_once "$ETC/pseudonymd.yaml" <<EOF
# hartslag-pseudonymd in docker/compose.yaml (written by hartslag-init-keys).
# Inside the compose network it listens on every interface: the partner
# containers reach it as "pseudonymd". Only certificates in certificates/
# complete the CURVE handshake. In a real partnership it runs at a trusted
# third party, never on the broker's host (docs/pseudonyms.md).
org: $SERVICE_ORG
bind: $SERVICE_BIND
keys: keys/$SERVICE_ORG.cert_secret
oprf_key: keys/$SERVICE_ORG.oprf_secret
certificates: certificates
store: $STATE/pseudonymd.db
coordinator: $COORDINATOR
limits:
  default: {per_minute: 100, per_day: 5000}
log_level: info
EOF

for org in $ORGS; do
    write_once "$ETC/$org.yaml" <<EOF
# hartslagd of $org in docker/compose.yaml (written by hartslag-init-keys).
org: $org
keys: keys/$org.cert_secret
broker: $BROKER_ENDPOINT
broker_cert: broker.cert
certificates: certificates
agreements: agreements.yaml
pseudonym_service: $SERVICE_ENDPOINT
pseudonym_service_cert: pseudonymd.cert
state_dir: $STATE/$org
log_level: info
EOF
done

# 5. Check what we made, then hand it to the unprivileged user.
"$HARTSLAG" keys verify "$ETC/certificates" >/dev/null ||
    die "the certificate directory $ETC/certificates has problems: run 'hartslag keys verify'"
"$HARTSLAG" agreements check "$ETC/agreements.yaml" >/dev/null ||
    die "$ETC/agreements.yaml is invalid: run 'hartslag agreements check'"
chmod 0700 "$SECRETS"/*
chmod 0600 "$SECRETS"/*/*_secret
if [ "$(id -u)" = 0 ]; then
    chown -R "$OWNER" "$SECRETS"/* "$ETC"
fi
# shellcheck disable=SC2086  # ORGS is a word list
set -- $ORGS
say "ready: $# partners, the broker and the pseudonym service"
