#!/usr/bin/env bash
# ekas's image and deploy/ on a real kubelet: run by hand, not in CI (CI has no kubelet).
#
#   tests/e2e/real-node.sh
#
# Needs ../shared/realnode built into /tmp/realnode (its README); starts the node when it is down.
# Builds the release binary (or takes EKAS_BIN), the image from it with realnode's image.sh (user
# from the Dockerfile's USER line), starts moto's server on loopback as the AWS endpoint with one
# Auto Scaling group, and applies deploy/ through an overlay holding only what this machine forces:
# the local image with imagePullPolicy Never, host network with the API server's loopback address,
# the AWS endpoint and fake keys, and the cluster name and region. Then it checks:
#   1. every kustomization is accepted by the API server (server-side dry run);
#   2. the pod is Ready and holds the Lease under the identity it logged;
#   3. pending pods that fit no node raise the group's desired capacity;
#   4. no request was refused (no "Forbidden" in the log);
#   5. `kubectl rollout restart` hands the Lease over: the old pod lets its action finish,
#      releases the Lease and exits 0 before the new one leads; no pass is cut off.
# Prints PASS/FAIL lines; exits non-zero when any check fails. KEEP=1 leaves namespace ekas.
set -uo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
ROOT=${ROOT:-/tmp/realnode}
export KUBECONFIG=$ROOT/kubeconfig
K="$ROOT/bin/kubectl --request-timeout=20s"
VENV=${EKAS_VENV:-/var/tmp/ekas-venv}
MOTO_PORT=${MOTO_PORT:-25055}
FAILS=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
info() { echo "INFO: $*"; }
work=$(mktemp -d)
moto_pid=
cleanup() {
  [ -n "${stream_pid:-}" ] && kill "$stream_pid" 2>/dev/null
  [ -n "$moto_pid" ] && kill "$moto_pid" 2>/dev/null
  if [ "${KEEP:-0}" != 1 ]; then
    $K delete namespace ekas --ignore-not-found --wait=false >/dev/null 2>&1
    $K delete -f "$work/pending.yaml" --ignore-not-found >/dev/null 2>&1
    $K delete clusterrole,clusterrolebinding ekas --ignore-not-found >/dev/null 2>&1
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# The node.
if [ "$($K get node realnode-1 -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" != True ]; then
  info "starting the node"
  "$ROOT/node-up.sh" --clean >"$work/node-up.log" 2>&1 || { cat "$work/node-up.log"; exit 1; }
fi
pass "node realnode-1 Ready ($($K version -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["serverVersion"]["gitVersion"])'))"
# A clean slate: what an earlier run left is gone before this one starts.
$K delete namespace ekas --ignore-not-found --wait=true --timeout=180s >/dev/null 2>&1
$K delete job e2e-pending -n default --ignore-not-found --wait=true >/dev/null 2>&1

# AWS: moto on loopback, one group of cluster realnode.
[ -x "$VENV/bin/moto_server" ] || { python3 -m venv "$VENV" && "$VENV/bin/pip" install -q "moto[server]==5.2.5"; }
"$VENV/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT" >"$work/moto.log" 2>&1 &
moto_pid=$!
for _ in $(seq 50); do python3 - "$MOTO_PORT" <<'EOF' 2>/dev/null && break
import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)
EOF
  sleep 0.2; done
aws() { "$VENV/bin/python" - "$MOTO_PORT" "$@"; }
aws setup <<'EOF'
import sys, boto3
port = sys.argv[1]
a = boto3.client("autoscaling", region_name="us-west-2", endpoint_url=f"http://127.0.0.1:{port}",
                 aws_access_key_id="test", aws_secret_access_key="test")
a.create_launch_configuration(LaunchConfigurationName="lc", ImageId="ami-12c6146b", InstanceType="m5.xlarge")
a.create_auto_scaling_group(AutoScalingGroupName="workers", LaunchConfigurationName="lc", MinSize=0,
    MaxSize=10, DesiredCapacity=0, AvailabilityZones=["us-west-2a"], NewInstancesProtectedFromScaleIn=True,
    Tags=[{"Key": k, "Value": v, "PropagateAtLaunch": True} for k, v in
          [("KubernetesCluster", "realnode"), ("Role", "worker")]])
EOF
desired() { aws <<'EOF'
import sys, boto3
a = boto3.client("autoscaling", region_name="us-west-2", endpoint_url=f"http://127.0.0.1:{sys.argv[1]}",
                 aws_access_key_id="test", aws_secret_access_key="test")
print(a.describe_auto_scaling_groups(AutoScalingGroupNames=["workers"])["AutoScalingGroups"][0]["DesiredCapacity"])
EOF
}
info "moto on 127.0.0.1:$MOTO_PORT, group workers desired $(desired)"

# The image, from the release binary, as the Dockerfile's user.
BIN=${EKAS_BIN:-}
if [ -z "$BIN" ]; then
  (cd "$REPO" && cargo build --release --locked --bin ekas) || exit 1
  BIN=${CARGO_TARGET_DIR:-$REPO/target}/release/ekas
fi
USER_LINE=$(grep -E '^USER ' "$REPO/Dockerfile" | tail -1 | cut -d' ' -f2)
"$ROOT/image.sh" ekas:e2e "$BIN" "$USER_LINE" >"$work/image.log" 2>&1 || { cat "$work/image.log"; exit 1; }
info "image docker.io/library/ekas:e2e from $BIN, user $USER_LINE"

# The overlay: deploy/ with only this machine's unavoidable changes.
mkdir -p "$work/overlay"
rel=$(python3 -c 'import os,sys; print(os.path.relpath(sys.argv[1], sys.argv[2]))' "$REPO/deploy" "$work/overlay")
cat >"$work/overlay/kustomization.yaml" <<EOF
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [$rel]
images: [{name: ekas, newName: docker.io/library/ekas, newTag: e2e}]
patches:
  - target: {group: apps, version: v1, kind: Deployment, name: ekas}
    patch: |-
      - {op: add, path: /spec/template/spec/hostNetwork, value: true}
      # Host network on one node: a new pod cannot start beside the old one (same port), so a
      # rollout takes the old one down first.
      - {op: add, path: /spec/strategy, value: {type: RollingUpdate, rollingUpdate: {maxSurge: 0, maxUnavailable: 1}}}
      - {op: add, path: /spec/template/spec/containers/0/imagePullPolicy, value: Never}
      - {op: replace, path: /spec/template/spec/containers/0/args/1, value: --cluster-name=realnode}
      - {op: replace, path: /spec/template/spec/containers/0/args/2, value: --regions=us-west-2}
      - op: add
        path: /spec/template/spec/containers/0/env
        value:
          - {name: KUBERNETES_SERVICE_HOST, value: "127.0.0.1"}
          - {name: KUBERNETES_SERVICE_PORT, value: "26443"}
          - {name: AWS_ENDPOINT_URL, value: "http://127.0.0.1:$MOTO_PORT"}
          - {name: AWS_ACCESS_KEY_ID, value: test}
          - {name: AWS_SECRET_ACCESS_KEY, value: test}
          - {name: AWS_EC2_METADATA_DISABLED, value: "true"}
EOF

# 1. Server-side dry run of every kustomization (the monitoring kinds only where their CRDs are).
# A dry run creates nothing, so the namespace the objects go in must exist first.
$K apply -f "$REPO/deploy/namespace.yaml" >/dev/null
for dir in "$work/overlay" "$REPO/deploy" "$REPO/examples/kustomize-overlay"; do
  if out=$($K kustomize "$dir" | $K apply --dry-run=server -f - 2>&1); then
    pass "server-side dry run: ${dir#"$REPO"/}"
  else
    case $out in
      *"no matches for kind \"ServiceMonitor\""* | *"no matches for kind \"PrometheusRule\""*)
        info "server-side dry run of ${dir#"$REPO"/}: the Prometheus Operator's CRDs are not installed"
        echo "$out" | grep -v 'no matches for kind' | sed 's/^/  /' ;;
      *) fail "server-side dry run: ${dir#"$REPO"/}"; echo "$out" | sed 's/^/  /' ;;
    esac
  fi
done

# 2. Applied: Ready, and holding the Lease under its logged identity.
$K apply -k "$work/overlay" >/dev/null || { fail "kubectl apply -k"; exit 1; }
if $K -n ekas rollout status deploy/ekas --timeout=120s >/dev/null; then
  pass "Deployment ekas available; pod $($K -n ekas get pods -l app=ekas -o jsonpath='{.items[0].metadata.name}') Ready"
else
  fail "Deployment ekas not available"; $K -n ekas describe pods -l app=ekas | tail -20
fi
pod=$($K -n ekas get pods -l app=ekas -o jsonpath='{.items[0].metadata.name}')
identity() { # the identity a pod's log says it leads as
  $K -n ekas logs "$1" 2>/dev/null | python3 -c '
import json, sys
for line in sys.stdin:
    try: e = json.loads(line)
    except ValueError: continue
    if e.get("fields", {}).get("message") == "became the leader": print(e["fields"]["identity"]); break'
}
for _ in $(seq 30); do id=$(identity "$pod"); [ -n "$id" ] && break; sleep 1; done
holder=$($K -n ekas get lease ekas -o jsonpath='{.spec.holderIdentity}')
[ -n "$id" ] && [ "$holder" = "$id" ] && pass "Lease ekas/ekas held by $pod as $holder" || fail "Lease holder $holder, pod logged ${id:-nothing}"

# 3. Pods no node can take raise the group.
cat >"$work/pending.yaml" <<'EOF'
apiVersion: batch/v1
kind: Job
metadata: {name: e2e-pending, namespace: default}
spec:
  parallelism: 3
  completions: 3
  template:
    spec:
      restartPolicy: Never
      nodeSelector: {node.kubernetes.io/instance-type: m5.xlarge}
      containers:
        - {name: c, image: docker.io/library/busybox:realnode, imagePullPolicy: Never,
           args: [sleep, "5"], resources: {requests: {cpu: "1", memory: 1Gi}}}
EOF
$K apply -f "$work/pending.yaml" >/dev/null
for _ in $(seq 60); do d=$(desired); [ "${d:-0}" -ge 1 ] && break; sleep 1; done
[ "${d:-0}" -ge 1 ] && pass "group workers raised to desired $d for the pending pods" || fail "group workers still at desired ${d:-?}"

# 4. Nothing refused.
n=$($K -n ekas logs "$pod" | grep -ci forbidden)
[ "$n" = 0 ] && pass "no Forbidden in the log" || { fail "$n Forbidden lines"; $K -n ekas logs "$pod" | grep -i forbidden | head -5 | sed 's/^/  /'; }

# 5. A rollout restart hands the Lease over.
$K -n ekas logs -f "$pod" >"$work/old.log" 2>&1 & stream_pid=$!
# A watch sees the kubelet's last status (the exit code) even when the pod is deleted at once after.
$ROOT/bin/kubectl -n ekas get pod "$pod" --watch -o jsonpath='{.status.containerStatuses[0].state.terminated.exitCode}{"\n"}' >"$work/exit.log" 2>/dev/null & watch_pid=$!
$K -n ekas rollout restart deploy/ekas >/dev/null
$K -n ekas rollout status deploy/ekas --timeout=180s >/dev/null || fail "rollout did not finish"
kill "$watch_pid" 2>/dev/null; sleep 1; kill "$stream_pid" 2>/dev/null; stream_pid=
new=$($K -n ekas get pods -l app=ekas -o jsonpath='{.items[0].metadata.name}')
for _ in $(seq 30); do new_id=$(identity "$new"); [ -n "$new_id" ] && break; sleep 1; done
code=$(grep -E '^[0-9]+$' "$work/exit.log" | tail -1)
python3 - "$work/old.log" "$new_id" "$($K -n ekas logs "$new" | head -200 | base64 -w0)" "${code:-unknown}" <<'EOF' && pass "rollout restart: $pod released the Lease, then $new led as $new_id; old exit ${code:-?}" || fail "rollout restart (see above)"
import base64, json, sys
old, new_id, new_log, code = sys.argv[1], sys.argv[2], base64.b64decode(sys.argv[3]).decode(), sys.argv[4]
def events(text):
    out = []
    for line in text.splitlines():
        try: out.append(json.loads(line))
        except ValueError: pass
    return out
o, n = events(open(old).read()), events(new_log)
msg = lambda e: e.get("fields", {}).get("message", "")
released = [e["timestamp"] for e in o if msg(e) == "released the lease"]
led = [e["timestamp"] for e in n if msg(e) == "became the leader"]
bad = [msg(e) for e in o if "cut off" in msg(e) or "did not finish in time" in msg(e)]
ok = True
for e in o:
    if msg(e).startswith("stopping") or msg(e) in ("shutting down", "released the lease"):
        print("  old:", e["timestamp"], msg(e))
for e in n[:1] + [e for e in n if msg(e) == "became the leader"]:
    print("  new:", e["timestamp"], msg(e))
if not released: print("  the old pod never said it released the Lease"); ok = False
if not led: print("  the new pod never led"); ok = False
if released and led and led[0] < released[0]: print("  two leaders: the new one led before the old released"); ok = False
if bad: print("  passes cut off:", bad); ok = False
if code not in ("0", "unknown"): print("  old pod exited", code); ok = False
sys.exit(0 if ok else 1)
EOF
n=$($K -n ekas logs "$new" | grep -ci forbidden)
[ "$n" = 0 ] || fail "$n Forbidden lines in the new pod's log"

echo
[ $FAILS = 0 ] && echo "ALL PASS" || echo "$FAILS FAILED"
exit $FAILS
