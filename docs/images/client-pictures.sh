#!/usr/bin/env bash
# Retakes the README's pictures of the visitor client, offscreen (about five minutes on two cores):
#   client-arrival.png  the first view of a visitor who just came in, 800 visitors watching
#   client-runway.png   Teddy Lumen mid-runway with 1,200 visitors lining it, seen from over the hall
#   client-selfie.png   the tour guide's selfie with Teddy Lumen (and its JSON sidecar)
#   client-wallet.png   the wallet with the voucher that selfie earned
# Usage: bash docs/images/client-pictures.sh [OUT_DIR]   (default: docs/images)
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-docs/images}
mkdir -p "$out"
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

# 1. Arrival: a server, 800 visitors watching, and a visitor who comes in and stands still.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url="ws://127.0.0.1:$port/"
showroom serve --port "$port" --data-dir "$work/data" --host-token pictures >"$work/serve.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
showroom loadtest "$url" --clients 800 --ramp 400 --duration 60 --behaviour watch:0.85,wander:0.15 >"$work/load.log" 2>&1 &
pids+=($!)
sleep 6
showroom host "$url" --token pictures seek 0:30 >/dev/null
showroom client "$url" --name Ada --offscreen --seconds 4 --wallet-file "$work/arrival.token" \
    --screenshot "$out/client-arrival.png"
cleanup
pids=()
work=$(mktemp -d)

# 2. The runway with a full crowd: 1,200 visitors given 40 s to fill the floors, the free camera over the hall.
showroom demo --bots 1200 --at 0:05 --seconds 40 --follow free --out "$work/runway" \
    --screenshot "$out/client-runway.png"

# 3. The tour guide's visit: its selfie photo, then the wallet it opens with the voucher (the first frame
#    with the wallet panel's gold title and a green Redeem button in it).
showroom demo --seconds 150 --out "$work/tour" --screenshot-every 120
photo=$(find "$work/tour" -name 'selfie-*.png' | sort | tail -1)
[ -n "$photo" ] || { echo "the tour guide took no selfie in 150 s; run again" >&2; exit 1; }
cp "$photo" "$out/client-selfie.png"
cp "${photo%.png}.json" "$out/client-selfie.json"
python3 - "$work/tour" "$out/client-wallet.png" <<'PY'
import shutil, sys
from pathlib import Path

import numpy as np
from PIL import Image

for frame in sorted(Path(sys.argv[1]).glob("frame-*.png")):
    a = np.asarray(Image.open(frame).convert("RGB")).astype(int)
    r, g, b = a[..., 0], a[..., 1], a[..., 2]
    title = a[125:160, 840:1040]
    gold = ((title[..., 0] > 200) & (title[..., 1] > 150) & (title[..., 2] < 120)).sum()
    green = ((g > 1.6 * r) & (g > 1.3 * b) & (g > 90))[180:260, 1150:1275].sum()
    if gold > 300 and green > 200:
        shutil.copy(frame, sys.argv[2])
        break
else:
    sys.exit("no frame shows the wallet with a voucher to redeem; run again")
PY
echo "wrote $out/client-arrival.png $out/client-runway.png $out/client-selfie.png $out/client-wallet.png"
