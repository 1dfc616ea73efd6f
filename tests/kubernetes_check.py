#!/usr/bin/env python3
"""Check the structure of deploy/kubernetes/ without a cluster: the kinds and their required
fields, no RBAC (the pods use no API), the image the same in both containers, tagged with the
Makefile's VERSION and named as the Containerfile builds it, every hostPath mounted at /host plus
its own path, every directory install.sh writes (as the DaemonSet's env sets them) covered by
such a mount, the ConfigMap mounted where install.sh reads it and holding valid JSON, and the
RuntimeClass's handler the runtime install.sh adds to containerd.

Usage: kubernetes_check.py [REPO_ROOT] [--dump-configmap DIR]
  --dump-configmap DIR  also write the ConfigMap's files to DIR (for integration/test-install.sh)
Exit 0 if all holds, 1 if not, 77 without PyYAML (Debian: python3-yaml).
"""
import json
import os
import re
import sys

try:
    import yaml
except ImportError:
    print("kubernetes_check: SKIP: python3-yaml is not installed", file=sys.stderr)
    sys.exit(77)

errors = []


def check(cond, msg):
    if not cond:
        errors.append(msg)
    return cond


def load(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def main():
    args = sys.argv[1:]
    dump = None
    if "--dump-configmap" in args:
        i = args.index("--dump-configmap")
        dump = args[i + 1]
        del args[i:i + 2]
    root = args[0] if args else os.path.join(os.path.dirname(__file__), "..")
    kdir = os.path.join(root, "deploy", "kubernetes")
    docs = load(os.path.join(kdir, "netfence.yaml"))
    rc_docs = load(os.path.join(kdir, "runtimeclass.yaml"))
    by_kind = {}
    for d in docs + rc_docs:
        for field in ("apiVersion", "kind", "metadata"):
            check(field in d, f"a document has no {field}: {str(d)[:80]}")
        check("name" in d.get("metadata", {}), f"{d.get('kind')} has no metadata.name")
        by_kind.setdefault(d["kind"], []).append(d)
    check(sorted(by_kind) == ["ConfigMap", "DaemonSet", "Namespace", "RuntimeClass",
                              "ServiceAccount"], f"kinds: {sorted(by_kind)}")
    for kind in ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"):
        check(kind not in by_kind, f"{kind}: the pods use no API and need no RBAC")
    ns = by_kind["Namespace"][0]["metadata"]["name"]
    for kind in ("ServiceAccount", "ConfigMap", "DaemonSet"):
        check(by_kind[kind][0]["metadata"].get("namespace") == ns, f"{kind} not in {ns}")

    sa = by_kind["ServiceAccount"][0]
    check(sa.get("automountServiceAccountToken") is False, "ServiceAccount mounts a token")
    ds = by_kind["DaemonSet"][0]
    check(ds["apiVersion"] == "apps/v1", "DaemonSet is not apps/v1")
    spec = ds["spec"]
    pod = spec["template"]["spec"]
    labels = spec["template"]["metadata"]["labels"]
    for k, v in spec["selector"]["matchLabels"].items():
        check(labels.get(k) == v, f"selector {k}={v} does not match the template's labels")
    check(pod.get("serviceAccountName") == sa["metadata"]["name"], "serviceAccountName")
    check(pod.get("automountServiceAccountToken") is False, "the pod mounts a token")
    check(not pod.get("hostNetwork") and not pod.get("hostPID"), "hostNetwork or hostPID")

    containers = pod.get("initContainers", []) + pod["containers"]
    check(len(containers) == 2, f"{len(containers)} containers, expected install and sync")
    with open(os.path.join(root, "Makefile")) as f:
        version = re.search(r"^VERSION\s*:=\s*(\S+)", f.read(), re.M).group(1)
    with open(os.path.join(kdir, "Containerfile")) as f:
        containerfile = f.read()
    built = re.search(r"-t (\S+)", containerfile).group(1)
    volumes = {v["name"]: v for v in pod["volumes"]}
    for c in containers:
        name = c["name"]
        for field in ("name", "image"):
            check(field in c, f"container {name} has no {field}")
        check(c["image"] == built, f"{name}: image {c['image']}, the Containerfile builds {built}")
        check(c["image"].endswith(":" + version), f"{name}: image not tagged {version}")
        check(c["env"] == containers[0]["env"], f"{name}: env differs from the install step")
        check(c["volumeMounts"] == containers[0]["volumeMounts"], f"{name}: mounts differ")
        check(any("/opt/netfence/install.sh" in a for a in c["command"]),
              f"{name}: does not run /opt/netfence/install.sh")
        sc = c.get("securityContext", {})
        check(not sc.get("privileged"), f"{name} is privileged")
        check(sc.get("capabilities", {}).get("drop") == ["ALL"], f"{name} keeps capabilities")
        check(sc.get("allowPrivilegeEscalation") is False, f"{name} allows escalation")
    check(re.search(r"COPY .*deploy/kubernetes/install\.sh /opt/netfence/", containerfile)
          and re.search(r"COPY netfence /opt/netfence/netfence", containerfile),
          "the Containerfile does not put install.sh and netfence in /opt/netfence")

    c = containers[0]
    check(c["command"][-1] == "/host", "install.sh does not get /host as the host root")
    env = {e["name"]: e.get("value") for e in c["env"]}
    mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
    for m in c["volumeMounts"]:
        v = volumes.get(m["name"])
        if not check(v is not None, f"mount {m['name']} has no volume"):
            continue
        if "hostPath" in v:
            check(m["mountPath"] == "/host" + v["hostPath"]["path"],
                  f"hostPath {v['hostPath']['path']} mounted at {m['mountPath']}")
    written = [env.get("NETFENCE_BIN_DIR"), env.get("NETFENCE_HOOKS_DIR"),
               env.get("NETFENCE_CDI_DIR"), "/etc/netfence", "/etc/containerd"]
    for d in written:
        check(d is not None and "/host" + d in mounts, f"install.sh writes {d}, not mounted")
    cm_mount = env.get("NETFENCE_CONFIG_SRC")
    check(cm_mount in mounts and "configMap" in volumes[mounts[cm_mount]["name"]],
          "NETFENCE_CONFIG_SRC is not where the ConfigMap is mounted")
    cm = by_kind["ConfigMap"][0]
    check(volumes[mounts[cm_mount]["name"]]["configMap"]["name"] == cm["metadata"]["name"],
          "the mounted ConfigMap is not netfence's")
    check("config.json" in cm["data"], "the ConfigMap has no config.json")
    for key, text in cm["data"].items():
        check(key.endswith(".json"), f"ConfigMap key {key} is not <name>.json")
        try:
            json.loads(text)
        except ValueError as e:
            errors.append(f"ConfigMap {key}: {e}")
    if dump:
        os.makedirs(dump, exist_ok=True)
        for key, text in cm["data"].items():
            with open(os.path.join(dump, key), "w") as f:
                f.write(text)

    rc = by_kind["RuntimeClass"][0]
    check(rc["apiVersion"] == "node.k8s.io/v1", "RuntimeClass is not node.k8s.io/v1")
    with open(os.path.join(kdir, "install.sh")) as f:
        script = f.read()
    check(f"containerd.runtimes.{rc['handler']}]" in script,
          f"install.sh does not add the runtime '{rc['handler']}' the RuntimeClass names")

    for e in errors:
        print(f"kubernetes_check: {e}", file=sys.stderr)
    if not errors:
        print(f"kubernetes_check: OK: {len(docs) + len(rc_docs)} manifests")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
