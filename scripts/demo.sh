#!/usr/bin/env bash
# End-to-end demo on a fresh machine: regenerate the crates from the schema
# (`cargo xtask codegen`; DEMO_SKIP_CODEGEN=1 skips it), build the `wechatpay` CLI, start the
# sandbox on 127.0.0.1 (port 0: a free port) with keys generated into a temp
# directory, and the brand's notify URL on 127.0.0.1 (`wechatpay notify serve`: verifies,
# journals and confirms every PRODUCT_COUPON.SEND); with `wechatpay call`: set the notify URL,
# call the three seed operations, then the coupon lifecycle — send → PRODUCT_COUPON.SEND
# notification → confirmed by `notify serve` → use; a coupon pre-sent for the mini-program
# component (领券组件), claimed by the user and confirmed by `notify serve`; the same three seed
# operations from the Rust example (crates/wechatpay-cli/examples/call_sandbox.rs); a 50-row
# campaign that sends and confirms every coupon; show how `wechatpay sign` helps with a
# SIGN_ERROR; a service provider (服务商) creating product coupons for two brands, its notify URL
# (`notify serve --mchid`: PRODUCT_COUPON_SP.SEND confirmed with the partner confirm) and a
# campaign over three brands whose unauthorised one fails alone; then stop everything — always,
# also on failure or Ctrl-C. Every step has a timeout.
#
# Needs: cargo (Rust toolchain). Nothing leaves 127.0.0.1.
set -euo pipefail

cd "$(dirname "$0")/.."
STEP_TIMEOUT="${DEMO_TIMEOUT:-60}"
BUILD_TIMEOUT="${DEMO_BUILD_TIMEOUT:-1800}"
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
BIN="$TARGET_DIR/debug/wechatpay"
EXAMPLE="$TARGET_DIR/debug/examples/call_sandbox"

WORK="$(mktemp -d)"
KEYS="$WORK/keys"
SANDBOX_PID=""
RECEIVER_PID=""
SP_RECEIVER_PID=""
cleanup() {
    for pid in "$SP_RECEIVER_PID" "$RECEIVER_PID" "$SANDBOX_PID"; do
        if [ -n "$pid" ]; then
            kill "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "${DEMO_SKIP_CODEGEN:-0}" != 1 ]; then
    echo "==> Regenerating the models and endpoints from schema/ (cargo xtask codegen)"
    timeout "$BUILD_TIMEOUT" cargo xtask codegen
fi

echo "==> Building the CLI and the example (cargo build)"
timeout "$BUILD_TIMEOUT" cargo build --quiet -p wechatpay-cli --bin wechatpay --example call_sandbox

echo "==> Starting the sandbox (keys in $KEYS)"
"$BIN" sandbox --listen 127.0.0.1:0 --keys "$KEYS" >"$WORK/sandbox.out" 2>"$WORK/sandbox.log" &
SANDBOX_PID=$!
# Waits (at most STEP_TIMEOUT) until file $1 has a line matching $2, while process $3 runs.
wait_for_line() {
    for _ in $(seq 1 $((STEP_TIMEOUT * 10))); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        if ! kill -0 "$3" 2>/dev/null; then
            grep -q "$2" "$1" 2>/dev/null && return 0
            return 1
        fi
        sleep 0.1
    done
    return 1
}

# The base URL is the sandbox's first line on stdout.
if ! wait_for_line "$WORK/sandbox.out" '^http' "$SANDBOX_PID"; then
    echo "the sandbox did not start:" >&2
    cat "$WORK/sandbox.log" >&2
    exit 1
fi
BASE_URL="$(head -n 1 "$WORK/sandbox.out")"
case "$BASE_URL" in
    http://127.0.0.1:*) ;;
    *) echo "no base URL from the sandbox within ${STEP_TIMEOUT}s" >&2; cat "$WORK/sandbox.log" >&2; exit 1 ;;
esac
echo "    sandbox at $BASE_URL"

# The identities the sandbox generated (sandbox.json), read without jq.
json_value() {
    sed -n "s/.*\"$1\": *\"\([^\"]*\)\".*/\1/p" "$KEYS/sandbox.json"
}
MCHID="$(json_value mchid)"
BRAND_ID="$(json_value brand_id)"
SERIAL_NO="$(json_value serial_no)"
PUBLIC_KEY_ID="$(json_value public_key_id)"
echo "    mchid=$MCHID brand_id=$BRAND_ID serial_no=$SERIAL_NO public_key_id=$PUBLIC_KEY_ID"

# The CLI's settings as environment variables (flags or --profile work too).
export WECHATPAY_BASE_URL="$BASE_URL"
export WECHATPAY_MCHID="$MCHID"
export WECHATPAY_BRAND_ID="$BRAND_ID"
export WECHATPAY_SERIAL_NO="$SERIAL_NO"
export WECHATPAY_PRIVATE_KEY="$KEYS/apiclient_key.pem"
export WECHATPAY_PUBLIC_KEY_ID="$PUBLIC_KEY_ID"
export WECHATPAY_PUBLIC_KEY="$KEYS/wxp_pub.pem"
# notify serve: the key that decrypts notifications, and the AppID its confirms name.
export WECHATPAY_APIV3_KEY="$(json_value apiv3_key)"
export WECHATPAY_APPID=wx233544546545989

RUN="$(date +%s)"
call() {
    echo
    echo "==> wechatpay call $1"
    timeout "$STEP_TIMEOUT" "$BIN" call "$1" --body "$2" | tee "$WORK/last.json"
}

echo
echo "==> Starting the brand's notify URL on 127.0.0.1 (wechatpay notify serve)"
"$BIN" notify serve --listen 127.0.0.1:0 --journal "$WORK/notify.db" >"$WORK/notify.out" 2>"$WORK/notify.log" &
RECEIVER_PID=$!
if ! wait_for_line "$WORK/notify.out" '^http' "$RECEIVER_PID"; then
    echo "the notify receiver did not start:" >&2
    cat "$WORK/notify.log" >&2
    exit 1
fi
NOTIFY_URL="$(head -n 1 "$WORK/notify.out")"
echo "    notifications go to $NOTIFY_URL"
call set-notify-config "{\"notify_url\":\"$NOTIFY_URL\"}"

call send-product-coupon \
    "{\"openid\":\"oUser_demo\",\"appid\":\"wx1234567889999\",\"stock_id\":\"12312354\",\"out_request_no\":\"DEMO_$RUN\",\"coupon_type\":\"NORMAL\"}"
call pre-send-user-product-coupon-bundle \
    "{\"openid\":\"oh-394z-6CGkNoJrsDLTTUKiAnp4\",\"product_coupon_id\":\"200000001\",\"stock_bundle_id\":\"100232301\",\"appid\":\"wx233544546545989\",\"send_request_no\":\"DEMO_BUNDLE_$RUN\"}"

echo
echo "==> The coupon lifecycle: send → notification → confirmed by notify serve → use"
OPENID="oh-394z-6CGkNoJrsDLTTUKiAnp4"
COUPON="\"product_coupon_id\":\"1000000013\",\"stock_id\":\"1000000013001\",\"appid\":\"wx233544546545989\""
call send-user-product-coupon \
    "{\"openid\":\"$OPENID\",$COUPON,\"send_request_no\":\"DEMO_SEND_$RUN\",\"attach\":\"demo\"}"
grep -q '"coupon_state": *"CONFIRMING"' "$WORK/last.json" || { echo "a sent coupon should await its confirm" >&2; exit 1; }
# The coupon code, verbatim from the reply (the notification names the same code).
CODE="$(sed -n 's/.*"coupon_code": *"\([^"]*\)".*/\1/p' "$WORK/last.json" | head -n 1)"
# Waits until notify serve printed the line of coupon $1 with confirm "confirmed".
wait_confirmed() {
    if ! wait_for_line "$WORK/notify.out" "\"coupon_code\":\"$1\".*\"confirm\":\"confirmed\"" "$RECEIVER_PID"; then
        echo "notify serve did not confirm coupon $1 within ${STEP_TIMEOUT}s" >&2
        cat "$WORK/notify.out" "$WORK/notify.log" >&2
        exit 1
    fi
    grep "\"coupon_code\":\"$1\"" "$WORK/notify.out" | head -n 1
}
echo
echo "==> notify serve received PRODUCT_COUPON.SEND (verified, decrypted, journaled) and confirmed the coupon"
wait_confirmed "$CODE"
call get-user-product-coupon "{\"openid\":\"$OPENID\",\"coupon_code\":\"$CODE\",$COUPON}" >/dev/null
grep -Eq '"coupon_state": *"(EFFECTIVE|PENDING)"' "$WORK/last.json" || { echo "the coupon is not usable" >&2; exit 1; }
echo "    coupon $CODE is $(sed -n 's/.*"coupon_state": *"\([^"]*\)".*/\1/p' "$WORK/last.json" | head -n 1)"
call use-user-product-coupon \
    "{\"openid\":\"$OPENID\",\"coupon_code\":\"$CODE\",$COUPON,\"use_time\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\",\"out_request_no\":\"DEMO_USE_$RUN\",\"associated_order_info\":{\"transaction_id\":\"4200000000123456789123456789\"}}"
grep -q '"coupon_state": *"USED"' "$WORK/last.json" || { echo "the coupon is not USED" >&2; exit 1; }
if ! wait_for_line "$WORK/notify.out" '"event_type":"PRODUCT_COUPON.USE"' "$RECEIVER_PID"; then
    echo "no PRODUCT_COUPON.USE notification within ${STEP_TIMEOUT}s" >&2
    exit 1
fi
grep '"event_type":"PRODUCT_COUPON.USE"' "$WORK/notify.out"

echo
echo "==> The mini-program component (领券组件): pre-send, the user claims, notify serve confirms"
CLAIMER="oDemoClaimer_$RUN"
call pre-send-user-product-coupon \
    "{\"openid\":\"$CLAIMER\",$COUPON,\"send_request_no\":\"DEMO_PRESEND_$RUN\"}"
TOKEN="$(sed -n 's/.*"token": *"\([^"]*\)".*/\1/p' "$WORK/last.json" | head -n 1)"
# The sandbox's stand-in for the user tapping the component (not a WeChat Pay API).
curl_post() {
    timeout "$STEP_TIMEOUT" bash -c 'exec 3<>/dev/tcp/127.0.0.1/'"${BASE_URL##*:}"'
        printf "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %s\r\nConnection: close\r\n\r\n%s" "$1" "${#2}" "$2" >&3
        cat <&3' _ "$1" "$2"
}
CLAIMED="$(curl_post /sandbox/pre-sends/claim "{\"token\":\"$TOKEN\"}")"
CLAIMED_CODE="$(printf '%s' "$CLAIMED" | sed -n 's/.*"coupon_code": *"\([^"]*\)".*/\1/p' | head -n 1)"
[ -n "$CLAIMED_CODE" ] || { echo "the claim failed: $CLAIMED" >&2; exit 1; }
echo "    the user claimed coupon $CLAIMED_CODE"
wait_confirmed "$CLAIMED_CODE"
call get-user-product-coupon "{\"openid\":\"$CLAIMER\",\"coupon_code\":\"$CLAIMED_CODE\",$COUPON}" >/dev/null
grep -Eq '"coupon_state": *"(EFFECTIVE|PENDING)"' "$WORK/last.json" || { echo "the claimed coupon is not usable" >&2; exit 1; }

echo
echo "==> The same three operations from Rust (examples/call_sandbox.rs)"
timeout "$STEP_TIMEOUT" "$EXAMPLE" "$KEYS" "$BASE_URL"

echo
echo "==> A campaign: send-user-product-coupon to 50 users of a CSV at the documented rate, each coupon confirmed"
{ echo openid; for i in $(seq -w 1 50); do echo "oDemoUser_${RUN}_$i"; done; } >"$WORK/users.csv"
echo '{"product_coupon_id":"1000000013","stock_id":"1000000013001","appid":"wx233544546545989"}' \
    >"$WORK/template.json"
timeout "$STEP_TIMEOUT" "$BIN" campaign send send-user-product-coupon --input "$WORK/users.csv" \
    --body @"$WORK/template.json" --journal "$WORK/campaign.db"
timeout "$STEP_TIMEOUT" "$BIN" campaign status --journal "$WORK/campaign.db"
timeout "$STEP_TIMEOUT" "$BIN" campaign report --journal "$WORK/campaign.db" >"$WORK/report.csv"
head -n 3 "$WORK/report.csv" | cut -c1-200
# Every coupon usable: none left CONFIRMING (notify serve confirmed them too: its confirms and
# the campaign's share one number per coupon, so the second is answered as a replay).
if grep -q CONFIRMING "$WORK/report.csv"; then
    echo "a campaign coupon was left CONFIRMING" >&2
    exit 1
fi
echo "    all 50 coupons EFFECTIVE or PENDING"
echo
echo "==> What notify serve journaled (wechatpay notify report)"
timeout "$STEP_TIMEOUT" "$BIN" notify report --journal "$WORK/notify.db" >"$WORK/notify.csv"
head -n 5 "$WORK/notify.csv" | cut -c1-160

echo
echo "==> A service provider (服务商) for several brands: the partner operations, signed as the provider"
SP_MCHID="$(json_value sp_mchid)"
# The brands of sandbox.json: those that authorised the provider, and one that did not.
brand_list() {
    sed -n "/\"$1\"/,/]/p" "$KEYS/sandbox.json" | grep -o '"[0-9][0-9]*"' | tr -d '"'
}
BRAND_A="$(brand_list authorized_brand_ids | sed -n 2p)"
BRAND_B="$(brand_list authorized_brand_ids | sed -n 3p)"
STRANGER="$(brand_list unauthorized_brand_ids | sed -n 1p)"
echo "    sp_mchid=$SP_MCHID acts for brands $BRAND_A and $BRAND_B; $STRANGER did not authorise it"
# The provider's one notify URL for all its brands; notify serve confirms its coupons with the
# partner confirm, for the brand each PRODUCT_COUPON_SP.SEND names.
"$BIN" notify serve --listen 127.0.0.1:0 --journal "$WORK/sp-notify.db" --mchid "$SP_MCHID" \
    >"$WORK/sp-notify.out" 2>"$WORK/sp-notify.log" &
SP_RECEIVER_PID=$!
if ! wait_for_line "$WORK/sp-notify.out" '^http' "$SP_RECEIVER_PID"; then
    echo "the provider's notify receiver did not start:" >&2
    cat "$WORK/sp-notify.log" >&2
    exit 1
fi
SP_NOTIFY_URL="$(head -n 1 "$WORK/sp-notify.out")"
sp_call() {
    echo
    echo "==> wechatpay call $1 (as service provider $SP_MCHID)"
    timeout "$STEP_TIMEOUT" "$BIN" call "$1" --mchid "$SP_MCHID" --body "$2" | tee "$WORK/last.json"
}
sp_call partner-set-notify-config "{\"notify_url\":\"$SP_NOTIFY_URL\"}"
STOCK_RULES='"stock":{"remark":"demo","coupon_code_mode":"WECHATPAY","stock_send_rule":{"max_count":1000,"max_count_per_user":10},"usage_rule_display_info":{"coupon_usage_method_list":["OFFLINE"],"usage_description":"demo"},"coupon_display_info":{"code_display_mode":"INVISIBLE"},"notify_config":{"notify_appid":"wx233544546545989"},"store_scope":"NONE"}'
DISPLAY='"display_info":{"name":"全场满100减15","image_url":"https://wxpaylogo.qpic.cn/wxpaylogo/demo/1","background_url":"https://wxpaylogo.qpic.cn/wxpaylogo/demo/2"}'
echo "brand_id,openid,product_coupon_id,stock_id" >"$WORK/brands.csv"
for BRAND in "$BRAND_A" "$BRAND_B"; do
    sp_call partner-create-product-coupon \
        "{\"brand_id\":\"$BRAND\",\"out_request_no\":\"DEMO_PC_${BRAND}_$RUN\",\"scope\":\"ALL\",\"type\":\"NORMAL\",\"usage_mode\":\"SINGLE\",\"single_usage_info\":{\"normal_coupon\":{\"threshold\":10000,\"discount_amount\":1500}},$DISPLAY,$STOCK_RULES}" >/dev/null
    PC_ID="$(sed -n 's/.*"product_coupon_id": *"\([^"]*\)".*/\1/p' "$WORK/last.json" | head -n 1)"
    ST_ID="$(sed -n 's/.*"stock_id": *"\([^"]*\)".*/\1/p' "$WORK/last.json" | head -n 1)"
    [ -n "$PC_ID" ] && [ -n "$ST_ID" ] || { echo "partner-create-product-coupon gave no ids for brand $BRAND" >&2; exit 1; }
    echo "    brand $BRAND: product coupon $PC_ID, stock $ST_ID"
    for i in $(seq -w 1 10); do echo "$BRAND,oSpUser_${RUN}_$i,$PC_ID,$ST_ID"; done >>"$WORK/brands.csv"
done
# The brand that did not authorise the provider is refused before anything happens.
for i in 1 2 3; do echo "$STRANGER,oSpStranger_${RUN}_$i,$PC_ID,$ST_ID"; done >>"$WORK/brands.csv"
echo
echo "==> A provider campaign over three brands (brand_id column), paced per brand; the unauthorised brand's rows fail alone"
echo '{"appid":"wx233544546545989"}' >"$WORK/sp-template.json"
set +e
timeout "$STEP_TIMEOUT" "$BIN" campaign send partner-send-user-product-coupon --mchid "$SP_MCHID" \
    --input "$WORK/brands.csv" --body @"$WORK/sp-template.json" --journal "$WORK/sp-campaign.db"
SP_EXIT=$?
set -e
# 10: some rows failed permanently (the unauthorised brand's), the others succeeded.
[ "$SP_EXIT" -eq 10 ] || { echo "the provider campaign exited $SP_EXIT, expected 10 (rows failed)" >&2; exit 1; }
timeout "$STEP_TIMEOUT" "$BIN" campaign status --journal "$WORK/sp-campaign.db"
timeout "$STEP_TIMEOUT" "$BIN" campaign report --journal "$WORK/sp-campaign.db" >"$WORK/sp-report.csv"
[ "$(grep -c ',succeeded,' "$WORK/sp-report.csv")" -eq 20 ] || { echo "expected 20 succeeded rows" >&2; cat "$WORK/sp-report.csv" >&2; exit 1; }
[ "$(grep -c 'NO_AUTH' "$WORK/sp-report.csv")" -eq 3 ] || { echo "expected the 3 unauthorised rows to fail NO_AUTH" >&2; exit 1; }
echo "    20 coupons sent and confirmed for two brands; $STRANGER's 3 rows failed NO_AUTH"
# Every send also notified the provider's URL (PRODUCT_COUPON_SP.SEND with brand_id).
if ! wait_for_line "$WORK/sp-notify.out" "\"event_type\":\"PRODUCT_COUPON_SP.SEND\".*\"brand_id\":\"$BRAND_B\"" "$SP_RECEIVER_PID"; then
    echo "no PRODUCT_COUPON_SP.SEND for brand $BRAND_B at the provider's URL" >&2
    cat "$WORK/sp-notify.out" "$WORK/sp-notify.log" >&2
    exit 1
fi
grep '"event_type":"PRODUCT_COUPON_SP.SEND"' "$WORK/sp-notify.out" | head -n 2

echo
echo "==> Debugging a signature: what exactly is signed for a request"
timeout "$STEP_TIMEOUT" "$BIN" sign --method POST --url /v3/marketing/busifavor/product-coupons/send \
    --body '{"stock_id":"12312354"}' --timestamp 1700000000 --nonce DEMONONCE

echo
echo "==> Demo finished; stopping the sandbox"
