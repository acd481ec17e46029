#!/usr/bin/python3
# k8s_validate.py FILE...: checks Kubernetes manifests against the API
# schema as Debian's python3-kubernetes carries it: its model classes are
# generated from the Kubernetes OpenAPI spec (22.6.0: API 1.22), with, for
# every object type, its fields (attribute_map), their types (openapi_types)
# and its required fields (the constructors refuse None for them). Every
# object is walked strictly: an unknown field, a wrong type or a missing
# required field is an error, with its path. Enum values (completionMode
# and the like) are not in these models and are checked by the test itself.
# Exit 0 when every document of every file is valid; else one line per
# error and exit 1.
import re
import sys

import yaml
from kubernetes import client
from kubernetes.client import models

errors = []


def err(path, msg):
    errors.append("%s: %s" % (path, msg))


def check(value, typ, path):
    if value is None:
        return
    if typ == "object":  # IntOrString, RawExtension, free-form
        return
    if typ in ("str", "datetime", "date"):
        if not isinstance(value, str):
            err(path, "want a string, got %r" % (value,))
        return
    if typ == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            err(path, "want an integer, got %r" % (value,))
        return
    if typ == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            err(path, "want a number, got %r" % (value,))
        return
    if typ == "bool":
        if not isinstance(value, bool):
            err(path, "want true or false, got %r" % (value,))
        return
    m = re.fullmatch(r"list\[(.+)\]", typ)
    if m:
        if not isinstance(value, list):
            err(path, "want a list, got %r" % (value,))
            return
        for i, v in enumerate(value):
            check(v, m.group(1), "%s[%d]" % (path, i))
        return
    m = re.fullmatch(r"dict\(str, (.+)\)", typ)
    if m:
        if not isinstance(value, dict):
            err(path, "want a map, got %r" % (value,))
            return
        for k, v in value.items():
            if not isinstance(k, str):
                err(path, "map key %r is not a string" % (k,))
            check(v, m.group(1), "%s.%s" % (path, k))
        return
    cls = getattr(models, typ, None)
    if cls is None:
        err(path, "type %s unknown to the client" % typ)
        return
    if not isinstance(value, dict):
        err(path, "want a %s object, got %r" % (typ, value))
        return
    by_json = {j: p for p, j in cls.attribute_map.items()}
    kwargs = {}
    for k, v in value.items():
        if k not in by_json:
            err(path, "unknown field %r in %s" % (k, typ))
            continue
        check(v, cls.openapi_types[by_json[k]], "%s.%s" % (path, k))
        kwargs[by_json[k]] = v
    # the generated constructors refuse None for required fields
    try:
        cls(local_vars_configuration=CONF, **kwargs)
    except ValueError as e:
        err(path, "%s: %s" % (typ, e))


CONF = client.Configuration()
CONF.client_side_validation = True


def model_of(doc, path):
    api, kind = doc.get("apiVersion"), doc.get("kind")
    if not isinstance(api, str) or not isinstance(kind, str):
        err(path, "no apiVersion or kind")
        return None
    version = api.split("/")[-1]
    name = version[0].upper() + version[1:] + kind
    if getattr(models, name, None) is None:
        err(path, "%s %s is not a type of the Kubernetes API (no model %s)" % (api, kind, name))
        return None
    return name


n = 0
for f in sys.argv[1:]:
    with open(f, encoding="utf-8") as fh:
        docs = list(yaml.safe_load_all(fh))
    for i, doc in enumerate(docs):
        if doc is None:
            continue
        path = "%s#%d" % (f, i)
        name = model_of(doc, path)
        if name:
            check(doc, name, path + ":" + doc["kind"])
            n += 1
for e in errors:
    print(e)
if n == 0:
    print("no Kubernetes object found")
    sys.exit(1)
import kubernetes
print("%d objects checked against the API models of python3-kubernetes %s" % (n, kubernetes.__version__))
sys.exit(1 if errors else 0)
