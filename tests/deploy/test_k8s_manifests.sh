#!/usr/bin/env bash
# test_k8s_manifests.sh: checks deploy/k8s/ (issue 15), without a cluster
# and without the network. No Kubernetes schema validator (kubeconform,
# kubeval) is packaged in Debian 12, and the Kubernetes OpenAPI/JSON schema
# is not either; what Debian has is python3-kubernetes, whose model classes
# are generated from that OpenAPI spec (API 1.22). k8s_validate.py walks
# every manifest against them (unknown fields, types, required fields).
# Then the checks the schema cannot make: what issue 15 asks of the
# manifests (an Indexed Job whose pods take JOB_COMPLETION_INDEX as the
# shard, outputs on a PVC, a merge Job reading the same claim), and that the
# validator does reject broken manifests (so a pass means something).
# Last line "N passed, M failed".
set -uo pipefail
HERE=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
SRC=$(readlink -f "$HERE/../..")
K8S=$SRC/deploy/k8s
PY=/usr/bin/python3 # Debian's, with python3-kubernetes and python3-yaml
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   - $*"; }
nok() { fail=$((fail + 1)); echo "FAIL - $*"; }
finish() { echo "$pass passed, $fail failed"; [ $fail -eq 0 ]; exit; }
TMP=$(mktemp -d /tmp/trawl-test-k8s.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

if ! "$PY" -c 'import kubernetes, yaml' 2>"$TMP/imp.err"; then
  nok "python3-kubernetes and python3-yaml importable by $PY (scripts/deps.sh installs them): $(tail -1 "$TMP/imp.err")"
  finish
fi

# ------------------------------------------------------------------ schema
if "$PY" "$HERE/k8s_validate.py" "$K8S"/*.yaml >"$TMP/v.out" 2>&1; then
  ok "deploy/k8s/*.yaml valid: $(tail -1 "$TMP/v.out")"
else
  nok "deploy/k8s/*.yaml valid against the API models:"; sed 's/^/       /' "$TMP/v.out"
fi

# broken copies must be refused: MUTATION DESCRIPTION (python on the doc `d`)
refuse() {
  local desc=$1 code=$2
  "$PY" - "$K8S/scan-job.yaml" "$TMP/bad.yaml" "$code" <<'PYEOF'
import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
c = d["spec"]["template"]["spec"]["containers"][0]
exec(sys.argv[3])
yaml.safe_dump(d, open(sys.argv[2], "w"))
PYEOF
  if "$PY" "$HERE/k8s_validate.py" "$TMP/bad.yaml" >"$TMP/bad.out" 2>&1; then
    nok "the validator refuses $desc (it passed)"
  else
    ok "the validator refuses $desc: $(head -1 "$TMP/bad.out" | sed "s|$TMP/||")"
  fi
}
refuse "a misspelt field (completionsMode)" 'd["spec"]["completionsMode"] = d["spec"].pop("completionMode")'
refuse "a field in the wrong place (completionMode in the pod spec)" 'd["spec"]["template"]["spec"]["completionMode"] = "Indexed"'
refuse "a string for an integer (completions: \"4\")" 'd["spec"]["completions"] = "4"'
refuse "a container without its required name" 'del c["name"]'
refuse "a volume mount without mountPath" 'del c["volumeMounts"][0]["mountPath"]'
refuse "a kind the API does not have (batch/v1 Jobs)" 'd["kind"] = "Jobs"'

# ------------------------------------------------------------------ what issue 15 asks
if "$PY" - "$K8S" >"$TMP/req.out" 2>&1 <<'PYEOF'; then
import glob, os, re, sys, yaml
objs = [d for f in sorted(glob.glob(os.path.join(sys.argv[1], "*.yaml")))
        for d in yaml.safe_load_all(open(f)) if d]
jobs = [d for d in objs if d["kind"] == "Job"]
pvcs = {d["metadata"]["name"] for d in objs if d["kind"] == "PersistentVolumeClaim"}
bad = []
def claims(job):
    return {v["persistentVolumeClaim"]["claimName"] for v in job["spec"]["template"]["spec"].get("volumes", [])
            if "persistentVolumeClaim" in v}
def env(c):
    return {e["name"]: e.get("value") for e in c.get("env", [])}
idx = [j for j in jobs if j["spec"].get("completionMode") == "Indexed"]
if len(idx) != 1:
    sys.exit("want one Job with completionMode: Indexed, got %d" % len(idx))
scan = idx[0]
spec = scan["spec"]
c = spec["template"]["spec"]["containers"][0]
script = " ".join(c.get("command", []) + c.get("args", []))
n = spec.get("completions")
if not isinstance(n, int) or n < 2:
    bad.append("completions %r: want the number of shards (2 or more)" % n)
if spec.get("parallelism", 1) > n:
    bad.append("parallelism above completions")
if env(c).get("TRAWL_SHARDS") != str(n):
    bad.append("TRAWL_SHARDS %r differs from completions %r" % (env(c).get("TRAWL_SHARDS"), n))
if not re.search(r"--shard \"?\$\{?JOB_COMPLETION_INDEX", script):
    bad.append("the shard is not JOB_COMPLETION_INDEX: %s" % script)
for opt in ("--shards", "--seed", "--max-rate"):
    if opt not in script:
        bad.append("no %s in the scan command" % opt)
if not re.search(r"-oX \S*\$\{?JOB_COMPLETION_INDEX", script):
    bad.append("the output file is not per shard")
if spec["template"]["spec"].get("restartPolicy") not in ("Never", "OnFailure"):
    bad.append("a Job's pods need restartPolicy Never or OnFailure")
if not claims(scan) or not claims(scan) <= pvcs:
    bad.append("the shards write to no PVC defined here (claims %s, PVCs %s)" % (claims(scan), pvcs))
merges = [j for j in jobs if j is not scan and "trawl merge" in " ".join(
    j["spec"]["template"]["spec"]["containers"][0].get("command", []))]
if len(merges) != 1:
    bad.append("want one merge Job running trawl merge, got %d" % len(merges))
elif claims(merges[0]) != claims(scan):
    bad.append("the merge Job reads %s, the shards write %s" % (claims(merges[0]), claims(scan)))
print("Indexed Job %s: %d shards; merge Job %s; PVC %s" % (
    scan["metadata"]["name"], n, merges[0]["metadata"]["name"] if merges else "-", ",".join(sorted(pvcs))))
sys.exit("; ".join(bad) if bad else 0)
PYEOF
  ok "issue 15's requirements: $(tail -1 "$TMP/req.out")"
else
  nok "issue 15's requirements:"; sed 's/^/       /' "$TMP/req.out"
fi

# the pods' shell script is valid sh
for f in scan-job merge-job; do
  "$PY" -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["spec"]["template"]["spec"]["containers"][0]["command"][2])' \
    "$K8S/$f.yaml" >"$TMP/$f.sh"
  if sh -n "$TMP/$f.sh" 2>"$TMP/sh.err"; then ok "$f.yaml: the container's sh -c script parses"
  else nok "$f.yaml: the container's sh -c script parses: $(cat "$TMP/sh.err")"; fi
done
finish
