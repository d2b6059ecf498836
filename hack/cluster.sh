#!/usr/bin/env bash
# Run a real single-node Kubernetes cluster on this machine, on 127.0.0.1:
# etcd, kube-apiserver, kube-controller-manager, kube-scheduler, containerd
# and kubelet, with the project's images imported into containerd.
#
# Usage: hack/cluster.sh up|down [--purge]|status|env|images|build
#
#   up      build what is missing, start what is not running, import the
#           images and wait until the node is Ready (idempotent)
#   down    stop every process this script started (by PID), remove pods,
#           mounts, the cni0 bridge and kubepods cgroups, and delete the
#           cluster's data; --purge also deletes the imported images and PKI
#   status  print which components run
#   env     print shell exports (KUBECONFIG, PATH) for the cluster
#   images  rebuild and import the images into a running containerd
#   build   build the binaries and image layers only
#
# Environment:
#   STAGE2_CLUSTER_DIR  state directory (default /var/lib/stage2-cluster);
#                       the kubeconfig is $STAGE2_CLUSTER_DIR/admin.kubeconfig
#   STAGE2_CACHE        build cache (default /var/cache/stage2-operator)
#
# Must run as root on Linux with cgroup v1 or v2, and needs the Debian
# packages containerd, runc, containernetworking-plugins, iptables,
# conntrack and debootstrap (installed by .ci/run), plus Go and gcc.
set -euo pipefail

HACK_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(dirname "$HACK_DIR")

STATE_DIR=${STAGE2_CLUSTER_DIR:-/var/lib/stage2-cluster}
CACHE_DIR=${STAGE2_CACHE:-/var/cache/stage2-operator}
export STAGE2_CACHE=$CACHE_DIR
# containerd's state (sockets, task bundles) lives on tmpfs like upstream's
# /run/containerd, under its own name so a system containerd is not touched.
RUN_DIR=/run/stage2-containerd

K8S_VERSION=v1.34.4
ETCD_VERSION=v3.6.16
HELM_VERSION=v4.3.2
K8S_BIN=$CACHE_DIR/kubernetes-$K8S_VERSION/bin
ETCD_BIN=$CACHE_DIR/etcd-$ETCD_VERSION/bin
HELM_BIN=$CACHE_DIR/helm-$HELM_VERSION/bin

NODE_NAME=stage2-node
API_SERVER=https://127.0.0.1:6443
PKI=$STATE_DIR/pki
CONFIG=$STATE_DIR/config
LOGS=$STATE_DIR/logs
PIDS=$STATE_DIR/pids
KUBECONFIG_ADMIN=$STATE_DIR/admin.kubeconfig
HOSTPATH_PV_DIR=/tmp/hostpath_pv

# Start order; `down` stops them in reverse.
COMPONENTS="etcd kube-apiserver kube-controller-manager kube-scheduler containerd kubelet"

say() { printf '[cluster %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
fail() { printf '[cluster %s] ERROR: %s\n' "$(date +%H:%M:%S)" "$*" >&2; exit 1; }

kubectl_admin() { "$K8S_BIN/kubectl" --kubeconfig "$KUBECONFIG_ADMIN" "$@"; }
ctr_k8s() { ctr --address "$RUN_DIR/containerd.sock" --namespace k8s.io "$@"; }

# ---------------------------------------------------------------------------
# Process bookkeeping

# Print the PID of a component if its recorded process still runs the
# recorded binary, so a recycled PID is never mistaken for ours.
running_pid() {
    local name=$1 pid exe
    [ -f "$PIDS/$name.pid" ] || return 1
    pid=$(cat "$PIDS/$name.pid")
    [ -n "$pid" ] && [ -d "/proc/$pid" ] || return 1
    exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
    [ "$(basename "${exe% (deleted)}")" = "$(cat "$PIDS/$name.exe" 2>/dev/null)" ] || return 1
    echo "$pid"
}

# start_daemon NAME BINARY ARGS...: start BINARY in its own session with
# output to $LOGS/NAME.log, unless it already runs.
start_daemon() {
    local name=$1 binary=$2 pid
    shift 2
    if pid=$(running_pid "$name"); then
        say "$name already running (pid $pid)"
        return 0
    fi
    [ -x "$binary" ] || fail "$name: binary $binary not found or not executable"
    # setsid detaches the daemon from the terminal's signals. A background
    # child of a non-interactive shell is no process-group leader, so setsid
    # execs in place and $! is the daemon's own PID.
    setsid "$binary" "$@" </dev/null >>"$LOGS/$name.log" 2>&1 &
    pid=$!
    echo "$pid" > "$PIDS/$name.pid"
    basename "$binary" > "$PIDS/$name.exe"
    sleep 0.3
    if ! running_pid "$name" >/dev/null; then
        tail -n 20 "$LOGS/$name.log" >&2 || true
        fail "$name exited at once; see $LOGS/$name.log"
    fi
    say "$name started (pid $pid, log $LOGS/$name.log)"
}

stop_daemon() {
    local name=$1 pid i
    if ! pid=$(running_pid "$name"); then
        rm -f "$PIDS/$name.pid" "$PIDS/$name.exe"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 100); do
        [ -d "/proc/$pid" ] || break
        sleep 0.1
    done
    if [ -d "/proc/$pid" ]; then
        say "$name (pid $pid) did not stop after SIGTERM within 10 s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        sleep 0.5
    fi
    rm -f "$PIDS/$name.pid" "$PIDS/$name.exe"
    say "$name stopped (pid $pid)"
}

# wait_until DESCRIPTION TIMEOUT_SECONDS COMMAND...: poll COMMAND every
# second, printing progress every 15 s.
wait_until() {
    local what=$1 timeout=$2 start elapsed
    shift 2
    start=$(date +%s)
    until "$@" >/dev/null 2>&1; do
        elapsed=$(( $(date +%s) - start ))
        if [ "$elapsed" -ge "$timeout" ]; then
            fail "timed out after ${timeout}s waiting for $what; logs are in $LOGS"
        fi
        if [ $((elapsed % 15)) -eq 14 ]; then say "still waiting for $what (${elapsed}s)"; fi
        sleep 1
    done
}

# ---------------------------------------------------------------------------
# Build

build_binaries() {
    # Image layers need network and disk rather than CPU, so they build
    # while Go compiles.
    local images_pid images_log=$LOGS/images-build.log
    mkdir -p "$LOGS"
    # Two concurrent `up` runs must not build into the same cache.
    mkdir -p "$CACHE_DIR"
    exec 9>"$CACHE_DIR/.build.lock"
    if ! flock -n 9; then
        say "waiting for another build holding $CACHE_DIR/.build.lock"
        flock 9
    fi

    say "building image layers in the background (log $images_log)"
    python3 "$HACK_DIR/images/build.py" --no-import >"$images_log" 2>&1 &
    images_pid=$!

    local status=0
    "$HACK_DIR/build/build-k8s.sh" "$K8S_VERSION" 2>&1 | sed -u 's/^/  /' || status=1
    "$HACK_DIR/build/build-etcd.sh" "$ETCD_VERSION" 2>&1 | sed -u 's/^/  /' || status=1
    "$HACK_DIR/build/build-helm.sh" "$HELM_VERSION" 2>&1 | sed -u 's/^/  /' || status=1

    if ! wait "$images_pid"; then
        tail -n 30 "$images_log" >&2
        fail "image build failed; see $images_log"
    fi
    sed 's/^/  /' "$images_log"
    exec 9>&-
    [ "$status" -eq 0 ] || fail "a binary build failed (output above)"
}

# ---------------------------------------------------------------------------
# Configuration

render() { # TEMPLATE OUTPUT
    sed -e "s#@STATE_DIR@#$STATE_DIR#g" -e "s#@RUN_DIR@#$RUN_DIR#g" "$1" > "$2"
}

issue_cert() { # NAME CN O [SAN]
    local name=$1 cn=$2 org=$3 san=${4:-}
    [ -f "$PKI/$name.crt" ] && return 0
    openssl genrsa -out "$PKI/$name.key" 2048 2>/dev/null
    openssl req -new -key "$PKI/$name.key" -subj "/CN=$cn${org:+/O=$org}" -out "$PKI/$name.csr"
    {
        echo "basicConstraints=CA:FALSE"
        echo "keyUsage=critical,digitalSignature,keyEncipherment"
        if [ -n "$san" ]; then
            echo "extendedKeyUsage=serverAuth,clientAuth"
            echo "subjectAltName=$san"
        else
            echo "extendedKeyUsage=clientAuth"
        fi
    } > "$PKI/$name.ext"
    openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" \
        -CAcreateserial -days 3650 -extfile "$PKI/$name.ext" -out "$PKI/$name.crt" 2>/dev/null
    rm -f "$PKI/$name.csr" "$PKI/$name.ext"
}

write_pki() {
    mkdir -p "$PKI"
    chmod 700 "$PKI"
    if [ ! -f "$PKI/ca.crt" ]; then
        say "generating certificates in $PKI"
        openssl genrsa -out "$PKI/ca.key" 2048 2>/dev/null
        openssl req -x509 -new -key "$PKI/ca.key" -subj /CN=stage2-local-ca -days 3650 -out "$PKI/ca.crt"
        openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
        openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
    fi
    issue_cert apiserver kube-apiserver "" \
        "IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
    issue_cert admin kubernetes-admin system:masters
    issue_cert kube-controller-manager system:kube-controller-manager ""
    issue_cert kube-scheduler system:kube-scheduler ""
    issue_cert kubelet "system:node:$NODE_NAME" system:nodes
    issue_cert apiserver-kubelet-client kube-apiserver-kubelet-client system:masters
}

write_kubeconfig() { # FILE CERT_NAME
    cat > "$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: stage2-local
  cluster:
    server: $API_SERVER
    certificate-authority: $PKI/ca.crt
users:
- name: $2
  user:
    client-certificate: $PKI/$2.crt
    client-key: $PKI/$2.key
contexts:
- name: stage2-local
  context:
    cluster: stage2-local
    user: $2
current-context: stage2-local
EOF
    chmod 600 "$1"
}

write_config() {
    mkdir -p "$CONFIG" "$LOGS" "$PIDS" "$STATE_DIR/cni/net.d" "$STATE_DIR/cni/networks" \
        "$STATE_DIR/pod-logs" "$RUN_DIR"
    write_pki
    write_kubeconfig "$KUBECONFIG_ADMIN" admin
    for name in kube-controller-manager kube-scheduler kubelet; do
        write_kubeconfig "$CONFIG/$name.kubeconfig" "$name"
    done
    render "$HACK_DIR/cluster/containerd.toml.in" "$CONFIG/containerd.toml"
    render "$HACK_DIR/cluster/kubelet.yaml.in" "$CONFIG/kubelet.yaml"
    render "$HACK_DIR/cluster/10-bridge.conflist.in" "$STATE_DIR/cni/net.d/10-bridge.conflist"
    # The API server reaches the kubelet by node name (logs, exec).
    if ! grep -Eq "^127\.0\.0\.1[[:space:]].*\b$NODE_NAME\b" /etc/hosts; then
        say "adding '127.0.0.1 $NODE_NAME' to /etc/hosts"
        echo "127.0.0.1 $NODE_NAME" >> /etc/hosts
    fi
}

# ---------------------------------------------------------------------------
# Components

start_etcd() {
    start_daemon etcd "$ETCD_BIN/etcd" \
        --name stage2 --data-dir "$STATE_DIR/etcd" \
        --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
        --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
        --initial-cluster stage2=http://127.0.0.1:2380 --listen-metrics-urls '' \
        --unsafe-no-fsync
    wait_until "etcd health" 60 curl -fsS http://127.0.0.1:2379/health
}

start_apiserver() {
    start_daemon kube-apiserver "$K8S_BIN/kube-apiserver" \
        --etcd-servers=http://127.0.0.1:2379 \
        --bind-address=127.0.0.1 --secure-port=6443 --advertise-address=127.0.0.1 \
        --endpoint-reconciler-type=none \
        --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
        --client-ca-file="$PKI/ca.crt" \
        --service-account-issuer=https://kubernetes.default.svc.cluster.local \
        --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
        --service-cluster-ip-range=10.0.0.0/24 \
        --authorization-mode=Node,RBAC --allow-privileged=true \
        --kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt" \
        --kubelet-client-key="$PKI/apiserver-kubelet-client.key" \
        --kubelet-preferred-address-types=Hostname \
        --profiling=false --cert-dir="$STATE_DIR/apiserver"
    wait_until "kube-apiserver /readyz" 120 \
        curl -fsS --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" "$API_SERVER/readyz"
}

start_controllers() {
    local kcm_config=$CONFIG/kube-controller-manager.kubeconfig
    local scheduler_config=$CONFIG/kube-scheduler.kubeconfig
    # --enable-hostpath-provisioner serves the default StorageClass with
    # directories under /tmp/hostpath_pv; it only works on a single node.
    start_daemon kube-controller-manager "$K8S_BIN/kube-controller-manager" \
        --kubeconfig="$kcm_config" \
        --authentication-kubeconfig="$kcm_config" --authorization-kubeconfig="$kcm_config" \
        --bind-address=127.0.0.1 --leader-elect=false --use-service-account-credentials=true \
        --root-ca-file="$PKI/ca.crt" --service-account-private-key-file="$PKI/sa.key" \
        --cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" \
        --enable-hostpath-provisioner=true
    start_daemon kube-scheduler "$K8S_BIN/kube-scheduler" \
        --kubeconfig="$scheduler_config" \
        --authentication-kubeconfig="$scheduler_config" --authorization-kubeconfig="$scheduler_config" \
        --bind-address=127.0.0.1 --leader-elect=false
}

start_containerd() {
    local pid
    # A containerd whose socket file was deleted keeps serving the kubelet's
    # open connection but accepts no new ones; restart it.
    if pid=$(running_pid containerd) &&
        ! ctr --address "$RUN_DIR/containerd.sock" --connect-timeout 5s version >/dev/null 2>&1; then
        say "containerd (pid $pid) does not respond on $RUN_DIR/containerd.sock; restarting it"
        stop_daemon containerd
    fi
    mkdir -p "$RUN_DIR"
    start_daemon containerd "$(command -v containerd)" --config "$CONFIG/containerd.toml"
    wait_until "containerd socket" 60 ctr --address "$RUN_DIR/containerd.sock" version
}

import_images() {
    say "building and importing images"
    python3 "$HACK_DIR/images/build.py" --address "$RUN_DIR/containerd.sock" \
        --record "$STATE_DIR/imported-images.json" 2>&1 | sed -u 's/^/  /' ||
        fail "image build or import failed (output above)"
}

start_kubelet() {
    start_daemon kubelet "$K8S_BIN/kubelet" \
        --config="$CONFIG/kubelet.yaml" --kubeconfig="$CONFIG/kubelet.kubeconfig" \
        --hostname-override="$NODE_NAME" --root-dir="$STATE_DIR/kubelet" \
        --cert-dir="$STATE_DIR/kubelet-pki" --v=1
}

node_ready() {
    [ "$(kubectl_admin get node "$NODE_NAME" \
        -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]
}

apply_storage_class() {
    kubectl_admin apply -f "$HACK_DIR/cluster/storageclass.yaml" >/dev/null
}

# Fail early if another program (for example a cluster started with another
# STAGE2_CLUSTER_DIR) listens on one of the fixed ports.
check_ports_free() {
    local port owner busy=no
    for port in 2379 2380 6443 10248 10250 10257 10259; do
        owner=$(ss -Hltnp "sport = :$port" 2>/dev/null | grep -o 'users:.*' | head -n 1) || true
        if [ -n "$owner" ]; then
            say "port 127.0.0.1:$port is already in use: $owner"
            busy=yes
        fi
    done
    if [ "$busy" = yes ]; then
        fail "another cluster or program uses the ports above; stop it first (hack/cluster.sh down with its STAGE2_CLUSTER_DIR)"
    fi
}

# ---------------------------------------------------------------------------
# Commands

cmd_up() {
    [ "$(id -u)" -eq 0 ] || fail "hack/cluster.sh up must run as root"
    local start name any_running=no
    start=$(date +%s)
    for name in $COMPONENTS; do
        if running_pid "$name" >/dev/null; then any_running=yes; fi
    done
    # Processes killed without `down` (a reboot, a CI runner ending the
    # session) leave pods, mounts and etcd data behind; start from scratch.
    if [ "$any_running" = no ] && [ -d "$STATE_DIR/etcd" ]; then
        say "no component runs but $STATE_DIR/etcd exists; cleaning up the old cluster first"
        cmd_down
    fi
    if [ "$any_running" = no ]; then check_ports_free; fi
    build_binaries
    write_config
    start_etcd
    start_apiserver
    start_controllers
    start_containerd
    import_images
    start_kubelet
    apply_storage_class
    wait_until "node $NODE_NAME Ready" 180 node_ready
    wait_until "ServiceAccount default/default" 120 kubectl_admin -n default get serviceaccount default
    say "cluster ready in $(( $(date +%s) - start ))s; run: eval \"\$($0 env)\""
}

# Kill every container task in containerd's k8s.io namespace and delete
# the containers, then any shim of ours that is still left.
remove_containers() {
    local task container pid
    if ctr --address "$RUN_DIR/containerd.sock" version >/dev/null 2>&1; then
        for task in $(ctr_k8s tasks ls -q 2>/dev/null); do
            ctr_k8s tasks kill -s SIGKILL "$task" >/dev/null 2>&1 || true
        done
        sleep 1
        for task in $(ctr_k8s tasks ls -q 2>/dev/null); do
            ctr_k8s tasks delete -f "$task" >/dev/null 2>&1 || true
        done
        for container in $(ctr_k8s containers ls -q 2>/dev/null); do
            ctr_k8s containers delete "$container" >/dev/null 2>&1 || true
        done
    fi
    # Shims outlive containerd; ours carry our socket in their command line.
    for pid in $(pgrep -f -- "containerd-shim-runc-v2 .*-address $RUN_DIR/containerd.sock" || true); do
        say "killing leftover containerd shim (pid $pid)"
        kill -KILL "$pid" 2>/dev/null || true
    done
}

unmount_below() { # DIR: unmount everything mounted at or below DIR, deepest first
    local dir=$1 mountpoint
    [ -e "$dir" ] || return 0
    awk -v d="$dir" '$2 == d || index($2, d "/") == 1 {print $2}' /proc/self/mounts | sort -r |
        while read -r mountpoint; do
            umount "$mountpoint" 2>/dev/null || umount -l "$mountpoint" 2>/dev/null || true
        done
}

remove_kubepods_cgroups() {
    local hierarchy pid
    # Container processes outlive a SIGKILLed shim; whatever is still in a
    # kubepods cgroup belongs to a pod of this cluster.
    for pid in $(cat /sys/fs/cgroup/kubepods/cgroup.procs /sys/fs/cgroup/*/kubepods/cgroup.procs \
                     /sys/fs/cgroup/kubepods/*/cgroup.procs /sys/fs/cgroup/*/kubepods/*/cgroup.procs \
                     /sys/fs/cgroup/*/kubepods/*/*/cgroup.procs /sys/fs/cgroup/*/kubepods/*/*/*/cgroup.procs \
                     2>/dev/null | sort -u); do
        say "killing leftover pod process $pid ($(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | cut -c1-60))"
        kill -KILL "$pid" 2>/dev/null || true
    done
    sleep 0.5
    for hierarchy in /sys/fs/cgroup /sys/fs/cgroup/*/; do
        hierarchy=${hierarchy%/}
        [ -d "$hierarchy/kubepods" ] || continue
        find "$hierarchy/kubepods" -depth -type d -exec rmdir {} + 2>/dev/null || true
        if [ -d "$hierarchy/kubepods" ]; then
            say "could not remove $hierarchy/kubepods; processes may still run in it"
        fi
    done
}

# Return success if a cluster other than this state directory's is running:
# its API server or kubelet port is open, or its containerd still runs.
# Called after this state directory's own processes were stopped.
other_cluster_running() {
    if ss -Hltn '( sport = :6443 or sport = :10250 or sport = :2379 )' 2>/dev/null | grep -q .; then
        return 0
    fi
    pgrep -f -- "^$(command -v containerd) --config .*/config/containerd.toml" >/dev/null
}

# Remove what every cluster of this script shares: the containerd state on
# tmpfs, sandbox network namespaces, the cni0 bridge, kubepods cgroups and
# the hostPath volumes.
remove_node_leftovers() {
    local name
    # Sandbox namespaces pin the veth pairs, and the bridge plugin switched
    # IP forwarding on.
    for name in /run/netns/cni-*; do
        [ -e "$name" ] || continue
        umount "$name" 2>/dev/null || true
        rm -f "$name"
    done
    ip link delete cni0 2>/dev/null || true
    echo 0 > /proc/sys/net/ipv4/ip_forward

    unmount_below "$RUN_DIR"
    remove_kubepods_cgroups
    rm -rf "$RUN_DIR" "$HOSTPATH_PV_DIR"
}

cmd_down() {
    [ "$(id -u)" -eq 0 ] || fail "hack/cluster.sh down must run as root"
    local purge=${1:-} name own_runtime=no
    mkdir -p "$PIDS"
    if running_pid containerd >/dev/null || running_pid kubelet >/dev/null; then
        own_runtime=yes
    fi

    stop_daemon kubelet
    # The containerd socket is at a fixed path: only clear its containers if
    # they are ours, or if no other cluster's containerd serves it.
    if [ "$own_runtime" = yes ] || ! other_cluster_running; then
        remove_containers
    fi
    for name in containerd kube-scheduler kube-controller-manager kube-apiserver etcd; do
        stop_daemon "$name"
    done

    if other_cluster_running; then
        say "another cluster still runs; leaving $RUN_DIR, cni0, the kubepods cgroups and $HOSTPATH_PV_DIR alone"
    else
        remove_node_leftovers
    fi

    unmount_below "$STATE_DIR/kubelet"
    unmount_below "$STATE_DIR/containerd"
    rm -rf "$STATE_DIR/etcd" "$STATE_DIR/kubelet" "$STATE_DIR/kubelet-pki" "$STATE_DIR/pod-logs" \
        "$STATE_DIR/cni/networks" "$STATE_DIR/apiserver"
    if [ "$purge" = --purge ]; then
        rm -rf "$STATE_DIR"
        say "cluster removed, state directory $STATE_DIR deleted"
    else
        say "cluster stopped; images and certificates kept in $STATE_DIR"
    fi
}

cmd_status() {
    local name pid any=no
    for name in $COMPONENTS; do
        if pid=$(running_pid "$name"); then
            printf '%-24s running (pid %s)\n' "$name" "$pid"
            any=yes
        else
            printf '%-24s stopped\n' "$name"
        fi
    done
    if [ "$any" = yes ] && [ -x "$K8S_BIN/kubectl" ] && [ -f "$KUBECONFIG_ADMIN" ]; then
        kubectl_admin get nodes -o wide 2>/dev/null || echo "API server not reachable"
    fi
    [ "$any" = yes ]
}

cmd_env() {
    echo "export KUBECONFIG=$KUBECONFIG_ADMIN"
    echo "export PATH=$K8S_BIN:$HELM_BIN:\$PATH"
}

cmd_images() {
    running_pid containerd >/dev/null || fail "containerd is not running; run hack/cluster.sh up"
    import_images
}

case "${1:-}" in
    up) cmd_up ;;
    down) cmd_down "${2:-}" ;;
    status) cmd_status ;;
    env) cmd_env ;;
    images) cmd_images ;;
    build) build_binaries ;;
    *)
        sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
        exit 2
        ;;
esac
