#!/usr/bin/env bash
# A third opinion on our encodings: Wireshark's H.225.0 and H.245 dissectors (tshark). Manual,
# not part of the test suite (tshark is a large install): `apt-get install tshark`, then
#   crates/h323-asn1/tests/tshark/check.sh
# Prints one line per sample and exits non-zero if tshark reports a malformed packet, except for
# ras_arq: Wireshark does not decode the open type inside SIGNED{} (H.235's ToBeSigned is "not
# decoded yet" in its dissector) and loses its place after it.
set -euo pipefail
cd "$(dirname "$0")/../../../.."
dump=$(mktemp)
work=$(mktemp -d)
trap 'rm -rf "$dump" "$work"' EXIT
H323_ASN1_DUMP="$dump" cargo test --quiet -p causeway-h323-asn1 --test pycrate_crosscheck >/dev/null
bad=0
while read -r name hex; do
    case $name in
        ras_*) dissector=h225.ras ;;
        uu_*) dissector=h225 ;;
        h245_*) dissector=h245dg ;;
        *) continue ;; # H.460.18/19 structures travel inside the messages above
    esac
    echo "$hex" | sed 's/../& /g; s/^/000000 /' >"$work/hex"
    text2pcap -q -l 147 "$work/hex" "$work/pcap" >/dev/null 2>&1
    tshark -r "$work/pcap" -V \
        -o "uat:user_dlts:\"User 0 (DLT=147)\",\"$dissector\",\"0\",\"\",\"0\",\"\"" \
        >"$work/out" 2>/dev/null
    if [ "$name" = ras_arq ]; then
        echo "$name not checked (SIGNED{} open type, see above)"
    elif grep -q -i 'malformed' "$work/out"; then
        echo "$name MALFORMED: $(grep -i -m1 -B3 'malformed' "$work/out" | tr -s ' \n' ' ')"
        bad=$((bad + 1))
    else
        echo "$name ok"
    fi
done <"$dump"
echo "$bad malformed"
[ "$bad" -eq 0 ]
