#!/usr/bin/env bash
# make test: the whole suite on the requests transport, then again on the curl
# transport. The curl pass leaves out what never reaches an HTTP transport
# (WebSocket sessions run on websocket-client whatever the transport; pure unit
# tests; the typing checks), and tests/conftest.py deselects the tests marked
# requests_transport or curl_gap there (docs/transports.md lists them).
set -u
python="$1"
shift
"$python" -m pytest -q "$@"
requests_status=$?
echo
echo "== again on the curl transport (HTTPOPS_TRANSPORT=curl) =="
HTTPOPS_TRANSPORT=curl "$python" -m pytest -q -p no:cacheprovider \
    --ignore=tests/unit --ignore=tests/typing \
    --ignore=tests/integration/websocket --ignore=tests/integration/integrations \
    --ignore=tests/reliability/test_hostile_ws.py \
    --ignore=tests/reliability/test_misbehaving_ws.py \
    --ignore=tests/reliability/test_ws_paused_reader.py \
    "$@"
curl_status=$?
[ "$requests_status" -eq 0 ] && [ "$curl_status" -eq 0 ]
