#!/usr/bin/env bash
# Hartslag demo: a whole partnership on loopback, from nothing, in a
# temporary directory. Called by `make demo` as `scripts/demo.sh BUILD_DIR`.
#
#   1. keys for the broker, five partners (the GGD runs no daemon), the
#      pseudonym service and a privacy officer, and every partner signing
#      the agreements
#   2. the example configurations (examples/*.yaml) on free ports
#   3. the broker, the pseudonym service and three daemons; welzijn stays
#      offline for now
#   4. realistic signals: allowed ones, a denied one (with its reason), and
#      signals for welzijn that wait at the broker until welzijn starts
#   5. the inboxes, multi-agency alerts, a recipient that refuses a signal
#      (its agreements are out of date) and the sender seeing it, a case
#      conference opened from an alert, a withdrawal reaching the
#      gemeente's case system, the status of each daemon, the audit log
#      verified and a citizen's access request
#   6. a change of the agreements: diff, dry run against the log, the
#      affected partners sign, the broker reloads; an unsigned widening refused
#   7. everything stopped cleanly (also on Ctrl-C or failure)
# Headings are bold only on a terminal and without NO_COLOR.
#
# KEEP=1 keeps the temporary directory for a look afterwards.
set -euo pipefail

BIN=${1:-"$(cd "$(dirname "$0")/.." && pwd)/build"}
SRC="$(cd "$(dirname "$0")/.." && pwd)"
H="$BIN/hartslag"
for b in hartslag hartslagd hartslag-broker hartslag-pseudonymd; do
    [ -x "$BIN/$b" ] || { echo "demo: $BIN/$b is missing; run 'make' first" >&2; exit 1; }
done

DIR=$(mktemp -d /tmp/hartslag-demo.XXXXXX)
PIDS=()

cleanup() {
    local rc=$?
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [ "${KEEP:-0}" = 1 ]; then echo "demo: kept $DIR"; else rm -rf "$DIR"; fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Bold headings only on a terminal, and never with NO_COLOR (no-color.org).
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
    step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
else
    step() { printf '\n== %s\n' "$*"; }
fi
# Prints a command the way one would type it, then runs it.
run() {
    local line='$' a
    for a in "$@"; do
        a=${a#"$BIN/"}
        if [[ $a =~ [^A-Za-z0-9_./=:,@-] ]]; then line+=" '${a//\'/\'\\\'\'}'"; else line+=" $a"; fi
    done
    printf '%s\n' "$line"
    "$@"
}

# Waits until FILE contains TEXT (timeout in tenths of a second).
wait_for() {
    local file=$1 text=$2 tenths=${3:-100}
    for _ in $(seq "$tenths"); do
        grep -q -- "$text" "$file" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "demo: timed out waiting for '$text' in $file" >&2
    tail -n 20 "$file" >&2 || true
    return 1
}

step "1. Keys: the broker, five partners, the pseudonym service, an officer; every partner signs the agreements"
cd "$DIR"
mkdir -p keys certificates state/broker
cp "$SRC/examples/"*.yaml .
"$H" keys broker --out keys >/dev/null
declare -A NAMES=(
    [gemeente]="Gemeente Heerlen, team Wijkregie Passart"
    [politie]="Politie Limburg, basisteam Heerlen"
    [welzijn]="Alcander (welzijnswerk)"
    [woonpunt]="Woonpunt (woningcorporatie)"
    [ggd]="GGD Zuid Limburg, bemoeizorg"
)
for org in gemeente politie welzijn woonpunt ggd; do
    role=partner; [ "$org" = gemeente ] && role=coordinator
    "$H" keys init --org "$org" --name "${NAMES[$org]}" --role "$role" \
        --contact "hartslag@$org.example" --out keys >/dev/null
    mv "keys/$org.cert" certificates/
done
# The pseudonym service's keys (its OPRF key stays on its host), and the
# gemeente's privacy officer, who looks citizens up through the service.
"$H" keys pseudonym-service --org pseudoniemdienst --out keys >/dev/null
"$H" keys init --org fg-gemeente --name "Functionaris gegevensbescherming, gemeente Heerlen" \
    --role officer --contact fg@gemeente.example --out keys >/dev/null
mv keys/fg-gemeente.cert certificates/
ls keys certificates | sed 's/^/  /'
# A broker enforces only agreements its partners signed: the first version
# by every partner in it. The GGD runs no daemon in this demo; it signs
# with its keys all the same (a configuration like welzijn's).
sed -e 's/^org: welzijn/org: ggd/' -e 's#^keys: keys/welzijn.cert_secret#keys: keys/ggd.cert_secret#' \
    welzijn.yaml > ggd.yaml
for org in gemeente politie welzijn woonpunt ggd; do
    "$H" agreements sign --config "$org.yaml" --yes agreements.yaml | tail -n 1
done
run "$H" agreements verify agreements.yaml --partners certificates
# Woonpunt has not installed this month's agreements yet: its copy is
# version 6, in which the gemeente's case feedback did not go to woonpunt.
sed -e 's/^version: 7 /version: 6 /' \
    -e 's/to: \[politie, welzijn, woonpunt, ggd\]/to: [politie, welzijn, ggd]/' \
    agreements.yaml > agreements-woonpunt-v6.yaml
sed -i 's#^agreements: .*#agreements: agreements-woonpunt-v6.yaml#' woonpunt.yaml

step "2. The broker, on a free port on 127.0.0.1"
"$BIN/hartslag-broker" --config broker.yaml --bind 'tcp://127.0.0.1:*' 2>state/broker.log &
BROKER_PID=$!
PIDS+=($BROKER_PID)
wait_for state/broker.log "event=started"
ENDPOINT=$(grep -o 'event=started endpoint=[^ ]*' state/broker.log | head -n1 | sed 's/.*endpoint=//')
echo "broker listens on $ENDPOINT"
for org in gemeente politie welzijn woonpunt; do
    sed -i "s#^broker: .*#broker: $ENDPOINT#" "$org.yaml"
done

step "2b. The pseudonym service (it never sees a BSN, an address or a pseudonym)"
mkdir -p -m 0700 state
sed -i "s#^bind: .*#bind: tcp://127.0.0.1:*#" pseudonymd.yaml
"$BIN/hartslag-pseudonymd" --config pseudonymd.yaml 2>state/pseudonymd.log &
PIDS+=($!)
wait_for state/pseudonymd.log "event=started"
SERVICE=$(grep -o 'event=started .*endpoint=[^ ]*' state/pseudonymd.log | head -n1 | sed 's/.*endpoint=//')
echo "pseudonym service listens on $SERVICE"
for org in gemeente politie welzijn woonpunt; do
    sed -i "s#^pseudonym_service: .*#pseudonym_service: $SERVICE#" "$org.yaml"
done

declare -A DAEMON_PID=()
start_daemon() {
    local org=$1
    "$BIN/hartslagd" --config "$org.yaml" 2>"state/$org.log" &
    PIDS+=($!)
    DAEMON_PID[$org]=$!
    wait_for "state/$org.log" "event=connected"
    echo "hartslagd $org is connected"
}

step "3. Daemons for gemeente, politie and woonpunt (welzijn is offline)"
for org in gemeente politie woonpunt; do start_daemon "$org"; done


step "4a. Politie reports nuisance around an address to gemeente and welzijn"
run "$H" send --config politie.yaml --user agent-4711 \
    --to gemeente,welzijn --type overlast --purpose casusoverleg \
    --subject-address "6411 AB 12a" \
    --field adres="Voorbeeldstraat 12a, 6411 AB Heerlen" --field datum=2026-03-02 \
    --field categorie=geluidsoverlast \
    --text "Derde melding deze maand; buren melden nachtelijk lawaai en bezoek." \
    --urgency priority --wait

step "4b. Woonpunt reports rent arrears at the same address"
run "$H" send --config woonpunt.yaml --user medewerker-23 \
    --to gemeente,welzijn --type huurachterstand --purpose casusoverleg \
    --subject-address "6411AB 12 A" \
    --field adres="Voorbeeldstraat 12a, 6411 AB Heerlen" --field datum=2026-03-03 \
    --field categorie=huurachterstand-3-maanden --wait

step "4c. Politie asks the Veiligheidshuis (gemeente) to take up a person (BSN via stdin)"
echo 111222333 | run "$H" send --config politie.yaml --user agent-4711 \
    --to gemeente --type zorgmelding --purpose veiligheidshuis --subject-bsn - \
    --field bsn=111222333 --field datum=2026-03-04 --field categorie=verward-gedrag \
    --text "Betrokkene verward aangetroffen, geen acuut gevaar; graag contact via Veiligheidshuis." \
    --wait

step "4d. Politie tries to send nuisance details to woonpunt: no agreement allows it"
if run "$H" send --config politie.yaml --user agent-4711 \
    --to woonpunt,gemeente --type overlast --purpose casusoverleg \
    --subject-address "6411 AB 12a" --field adres="Voorbeeldstraat 12a" \
    --field datum=2026-03-02; then
    echo "demo: this signal should have been denied" >&2; exit 1
else
    echo "(denied as expected: nothing left the politie daemon)"
fi

step "4e. The gemeente's inbox (the hook has handed each signal to its case system)"
sleep 1
run "$H" inbox --config gemeente.yaml
echo
IMPORTED=state/gemeente/zaaksysteem-import.jsonl
# "1 signal", "3 signals": COUNT WORD FILE KIND
count() {
    local n
    n=$(grep -c "\"kind\":\"$3\"" "$2" 2>/dev/null || true)
    if [ "${n:-0}" = 1 ]; then echo "1 $1"; else echo "${n:-0} $1s"; fi
}
echo "hook output ($IMPORTED): $(count signal "$IMPORTED" signal) and $(count alert "$IMPORTED" alert) as JSON"
FIRST=$("$H" inbox --config gemeente.yaml --json | grep '"type":"zorgmelding"' | head -n1 \
    | sed 's/.*"signal_id":"\([0-9a-f]*\)".*/\1/')
if [ -n "$FIRST" ]; then run "$H" show --config gemeente.yaml "$FIRST"; fi

step "4f. The broker matched politie and woonpunt signalling about one address: an alert"
echo "(the broker matched two pseudonyms; it never learned the address)"
run "$H" alerts --config gemeente.yaml

step "5. Welzijn comes online and receives what waited for it at the broker"
start_daemon welzijn
for _ in $(seq 50); do
    n=$("$H" inbox --config welzijn.yaml --json | grep -c '"kind":"signal"' || true)
    [ "$n" -ge 2 ] && break
    sleep 0.1
done
run "$H" inbox --config welzijn.yaml

step "5b. Welzijn signals about the same person as politie did in 4c (same BSN)"
echo 111222333 | run "$H" send --config welzijn.yaml --user jeugdwerker-7 \
    --to gemeente --type zorgmelding --purpose zorgcoordinatie --subject-bsn - \
    --field bsn=111222333 --field datum=2026-03-05 \
    --text "Zorgen over thuissituatie; betrokkene wil hulp." --wait
ALERT=""
for _ in $(seq 50); do
    ALERT=$("$H" alerts --config gemeente.yaml --json | grep '"org":"welzijn"' \
        | grep '"org":"politie"' | head -n1 | sed 's/.*"alert_id":"\([0-9a-f]*\)".*/\1/')
    [ -n "$ALERT" ] && break
    sleep 0.1
done
if [ -z "$ALERT" ]; then
    echo "demo: the gemeente received no alert naming politie and welzijn" >&2; exit 1
fi
echo "The gemeente (regie) received one alert naming both politie and welzijn:"
run "$H" alerts --config gemeente.yaml
step "5c. The gemeente puts it on the case meeting's agenda: handled, welzijn leads"
run "$H" alerts ack --config gemeente.yaml "$ALERT" --lead welzijn
sleep 0.5
run "$H" alerts --config welzijn.yaml

step "5d. The gemeente tells politie and woonpunt it opened a case; woonpunt refuses it"
echo "(woonpunt still runs last month's agreements, version 6, without this feedback)"
OUT=$(run "$H" send --config gemeente.yaml --user regisseur-passart \
    --to politie,woonpunt --type casus-geopend --purpose casusoverleg \
    --subject-address "6411 AB 12a" --field datum=2026-03-06 \
    --field contactpersoon="wijkregisseur Passart, 045-000 0000" --wait)
echo "$OUT"
CASE=$(printf '%s\n' "$OUT" | tail -n1 | cut -d' ' -f1)
for _ in $(seq 50); do
    "$H" show --config gemeente.yaml "$CASE" --json | grep -q '"woonpunt":{"state":"refused"' && break
    sleep 0.1
done
echo "The gemeente sees, per recipient, what became of it:"
run "$H" show --config gemeente.yaml "$CASE"
if ! "$H" show --config gemeente.yaml "$CASE" --json | grep -q '"woonpunt":{"state":"refused"'; then
    echo "demo: the gemeente was not told that woonpunt refused the signal" >&2; exit 1
fi

step "5e. Casuïstiekoverleg: the gemeente opens a case from the address alert"
echo "(the case's rule is casusoverleg-passart in agreements.yaml: who may take part, share what)"
ADDR_ALERT=$("$H" alerts --config gemeente.yaml --json | grep '"org":"woonpunt"' \
    | grep '"org":"politie"' | head -n1 | sed 's/.*"alert_id":"\([0-9a-f]*\)".*/\1/')
if [ -z "$ADDR_ALERT" ]; then
    echo "demo: the gemeente holds no alert naming politie and woonpunt" >&2; exit 1
fi
OUT=$(run "$H" case open --config gemeente.yaml --user regisseur-passart \
    --from-alert "$ADDR_ALERT" --lead gemeente --kind casusoverleg-passart \
    --invite politie,welzijn,woonpunt --title "Voorbeeldstraat 12a: overlast en huurachterstand")
echo "$OUT"
CASE_ID=$(printf '%s\n' "$OUT" | sed -n 's/^case \([0-9a-f]\{32\}\): .*/\1/p' | tail -n1)
[ -n "$CASE_ID" ] || { echo "demo: the case was not opened" >&2; exit 1; }
# Each invited partner's daemon holds the invitation once the broker's
# notice arrived; each accepts (the step is signed by its own daemon).
for org in politie welzijn woonpunt; do
    for _ in $(seq 50); do
        "$H" case show --config "$org.yaml" "$CASE_ID" >/dev/null 2>&1 && break
        sleep 0.1
    done
    run "$H" case accept --config "$org.yaml" "$CASE_ID" --user "casusoverleg-$org"
done
MEETING=$(date -d '+7 days' +%F)
run "$H" case schedule --config gemeente.yaml "$CASE_ID" --date "$MEETING" \
    --user regisseur-passart
echo "The coordinator's agenda for that meeting (also as a page: --html --out FILE):"
run "$H" case agenda --config gemeente.yaml --date "$MEETING"
echo "Politie and woonpunt share what the rule lets each share, sealed to the participants:"
run "$H" case share --config politie.yaml "$CASE_ID" --user agent-4711 \
    --field adres="Voorbeeldstraat 12a, 6411 AB Heerlen" --field datum=2026-03-02 \
    --text "Drie meldingen nachtelijk lawaai sinds februari."
run "$H" case share --config woonpunt.yaml "$CASE_ID" --user medewerker-23 \
    --field adres="Voorbeeldstraat 12a, 6411 AB Heerlen" \
    --text "Huurachterstand drie maanden; betalingsregeling aangeboden."
echo "After the meeting the coordinator records the plan: welzijn visits, woonpunt offers a"
echo "payment plan (the broker sees owners and due dates; what is to be done is sealed):"
run "$H" case plan --config gemeente.yaml "$CASE_ID" --user regisseur-passart \
    --action "welzijn:$(date -d '+14 days' +%F):Huisbezoek, gesprek over ondersteuning" \
    --action "woonpunt:$(date -d '+21 days' +%F):Betalingsregeling bespreken"
ACTION=""
for _ in $(seq 50); do
    ACTION=$("$H" case show --config welzijn.yaml "$CASE_ID" --json \
        | grep -o '"item":"[0-9a-f]\{32\}","owner":"welzijn"' | head -n1 | cut -d'"' -f4)
    [ -n "$ACTION" ] && break
    sleep 0.1
done
[ -n "$ACTION" ] || { echo "demo: welzijn never saw its action" >&2; exit 1; }
run "$H" case done --config welzijn.yaml "$CASE_ID" --item "$ACTION" --user jeugdwerker-7 \
    --note "Huisbezoek gedaan; aangemeld bij de schuldhulp."
for _ in $(seq 50); do
    "$H" case show --config gemeente.yaml "$CASE_ID" | grep -q "schuldhulp" && break
    sleep 0.1
done
run "$H" case close --config gemeente.yaml "$CASE_ID" --outcome zorg_geregeld \
    --user regisseur-passart
for _ in $(seq 50); do
    "$H" case show --config welzijn.yaml "$CASE_ID" --json | grep -q '"closed":true' && break
    sleep 0.1
done
echo "What welzijn holds of the case (the title, and what was said after it joined):"
run "$H" case show --config welzijn.yaml "$CASE_ID"

step "6. Politie withdraws its nuisance report; the recipients delete it"
SID=$("$H" inbox --config welzijn.yaml --json | grep '"type":"overlast"' | head -n1 \
    | sed 's/.*"signal_id":"\([0-9a-f]*\)".*/\1/')
run "$H" withdraw --config politie.yaml "$SID" --reason resolved
sleep 0.5
run "$H" inbox --config welzijn.yaml
wait_for state/gemeente/zaaksysteem-removed.jsonl "$SID" 100
echo "The gemeente's case system was told, through its hook, and removed it:"
echo "  state/gemeente/zaaksysteem-removed.jsonl: $(grep "$SID" state/gemeente/zaaksysteem-removed.jsonl)"
if grep -q "\"signal_id\":\"$SID\"" "$IMPORTED"; then
    echo "demo: the withdrawn signal is still in the gemeente's case system" >&2; exit 1
fi

step "6b. The partners change their agreements: diff, dry run, signatures, reload"
# Version 8: politie's nuisance reports carry no free text any more.
sed -e 's/^version: 7 /version: 8 /' \
    -e '/id: politie-overlast-casusoverleg/,/purpose:/s/fields: \[adres, datum, categorie, toelichting\]/fields: [adres, datum, categorie]/' \
    agreements.yaml > agreements-v8.yaml
run "$H" agreements diff agreements.yaml agreements-v8.yaml || true
# What version 8 would have done to this morning's traffic (a read-only look
# at the broker's log; no signal id or pseudonym is shown):
run "$H" agreements simulate agreements-v8.yaml --db state/broker/broker.db
# The coordinator and every partner the change affects sign (each on its
# own server, after reading the diff that `sign` shows them):
for org in gemeente politie welzijn; do
    "$H" agreements sign --config "$org.yaml" --against agreements.yaml --yes agreements-v8.yaml |
        tail -n 1
done
run "$H" agreements verify agreements-v8.yaml --partners certificates --against agreements.yaml
# The coordinator installs it at the broker and reloads.
cp agreements.yaml agreements-v7.yaml
cp agreements-v8.yaml agreements.yaml
rm -rf agreements.yaml.sig.d && cp -r agreements-v8.yaml.sig.d agreements.yaml.sig.d
kill -HUP "$BROKER_PID"
wait_for state/broker.log "event=agreements_loaded version=8"
grep 'event=agreements_loaded version=8' state/broker.log | sed 's/^/  broker.log: /'
# Each partner installs it too and reloads its daemon (woonpunt, which
# still runs its own version 6, does not yet).
for org in gemeente politie welzijn; do
    kill -HUP "${DAEMON_PID[$org]}"
    wait_for "state/$org.log" "event=agreements_loaded.*version=8"
done
# Someone widens the rules without the partners' signatures (woonpunt would
# receive politie's nuisance reports): the broker refuses it.
sed -e 's/^version: 8 /version: 9 /' \
    -e '/id: politie-overlast-casusoverleg/,/purpose:/s/to: \[gemeente, welzijn\]/to: [gemeente, welzijn, woonpunt]/' \
    agreements-v8.yaml > agreements.yaml
rm -rf agreements.yaml.sig.d
"$H" agreements sign --config gemeente.yaml --against agreements-v8.yaml --yes agreements.yaml | tail -n 1
kill -HUP "$BROKER_PID"
wait_for state/broker.log "event=agreements_refused version=9"
grep 'event=agreements_refused version=9' state/broker.log | sed 's/^/  broker.log: /'
cp agreements-v8.yaml agreements.yaml
rm -rf agreements.yaml.sig.d && cp -r agreements-v8.yaml.sig.d agreements.yaml.sig.d
run "$H" agreements history --db state/broker/broker.db

step "7. Status of each daemon"
for org in gemeente politie welzijn woonpunt; do
    run "$H" status --config "$org.yaml" || true
    echo
done

step "8. What the broker saw: metadata only"
if grep -rqa -e "111222333" -e "Voorbeeldstraat" -e "nachtelijk" state/broker state/broker.log; then
    echo "demo: the broker's files hold content or a BSN!" >&2; exit 1
fi
echo "no BSN, address or content in the broker's state directory or log"

step "9. The privacy officer verifies the audit log against the partners' checkpoints"
sleep 1.5 # the broker signs a checkpoint every second; the daemons cosign it
mkdir -p -m 0700 audit
# The broker's operator hands over a copy of broker.db; each partner hands
# over a witness file: only the checkpoints its daemon holds, none of its
# inbox (a copy of hartslagd.db would carry citizens' data).
sqlite3 state/broker/broker.db ".backup audit/broker.db"
chmod 0600 audit/broker.db # sqlite3's .backup writes 0644
for org in gemeente politie welzijn woonpunt; do
    run "$H" audit checkpoints --config "$org.yaml" --out "audit/$org.witness"
done
run "$H" audit verify --db audit/broker.db --broker-cert keys/broker.cert \
    --partners certificates --witness audit/gemeente.witness --witness audit/politie.witness \
    --witness audit/welzijn.witness --witness audit/woonpunt.witness
echo
echo
echo "The citizen with BSN 111222333 asks who shared what about them (AVG art. 15)."
echo "The officer looks them up through the pseudonym service (purpose art15):"
cat > audit/officer.yaml <<EOF
keys: ../keys/fg-gemeente.cert_secret
pseudonym_service: $SERVICE
pseudonym_service_cert: ../keys/pseudoniemdienst.cert
EOF
echo 111222333 | run "$H" audit subject --db audit/broker.db --bsn - \
    --officer audit/officer.yaml --partners certificates \
    --agreements agreements.yaml --broker-cert keys/broker.cert
echo
echo "The resident of the address asks as well: the case conference about it is in the letter"
echo "(which partners discussed it, when, why, on which legal basis, the outcome; no content):"
run "$H" audit subject --db audit/broker.db --address "6411 AB 12a" \
    --officer audit/officer.yaml --partners certificates \
    --agreements agreements.yaml --broker-cert keys/broker.cert
echo
echo "The partnership evaluates its case conferences (counts 1-4 shown as <5):"
run "$H" audit stats --db audit/broker.db --cases
echo
echo "The pseudonym service's own audit log records those lookups (never the BSN or address):"
run "$H" audit query --db state/pseudonymd.db --org fg-gemeente

step "Done: stopping the daemons and the broker"
