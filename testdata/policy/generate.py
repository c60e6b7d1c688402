#!/usr/bin/env python3
"""Generate the lint-policy fixtures under testdata/policy/.

Run from the repository root: `python3 testdata/policy/generate.py` (needs PyYAML).

native/clean.yaml is examples/policy/vector-db-rbac.yaml (the annotated example) re-emitted;
every native/POLxxx-*.yaml is that policy with ONE change that breaks exactly rule POLxxx
(tests/policy.rs asserts each fires its rule and nothing else, at `--as-of 2026-01-01`).
kubernetes/ and opensearch/ hold a clean file and one file per rule those formats can express;
their classification comes from the llmguard.toml beside them. Raw-text cases (duplicate keys,
invalid YAML, bombs) are written as text.
"""
import copy
import os
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
EXAMPLE = os.path.join(ROOT, "examples", "policy", "vector-db-rbac.yaml")


def dump(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        if isinstance(data, str):
            f.write(data)
        elif isinstance(data, list):
            yaml.safe_dump_all(data, f, sort_keys=False, width=120)
        else:
            yaml.safe_dump(data, f, sort_keys=False, width=120)


def role(p, name):
    return next(r for r in p["roles"] if r["name"] == name)


def coll(p, name):
    return next(c for c in p["data_classification"]["collections"] if c["name"] == name)


def native():
    text = open(EXAMPLE).read()
    base = yaml.safe_load(text)
    d = os.path.join(HERE, "native")
    dump(os.path.join(d, "clean.yaml"), base)

    def case(name, change):
        p = copy.deepcopy(base)
        change(p)
        dump(os.path.join(d, name + ".yaml"), p)

    case("POL001-unknown-key", lambda p: role(p, "hr_admin")["conditions"].update({"mfa_requried": True}))
    case("POL002-wrong-type", lambda p: role(p, "rag_service")["conditions"].update({"pii_filtering": "yes please"}))
    dump(os.path.join(d, "POL003-not-a-policy.yaml"), "services:\n  web:\n    image: nginx:1.27\n    ports: ['8080:80']\n")
    dump(os.path.join(d, "POL004-duplicate-key.yaml"), yaml.safe_dump(base, sort_keys=False, width=120).replace(
        "  version: '3'\n", "  version: '3'\n  version: '4'\n", 1))

    def p011(p):
        p["roles"].append({"name": "analyst", "permissions": [{"resource": "vectors/*", "actions": ["read"]}],
                           "conditions": {"mfa_required": True, "pii_filtering": True}})
        coll(p, "hr_records")["accessible_by"].append("analyst")
        coll(p, "user_memories")["accessible_by"].append("analyst")
    case("POL011-wildcard-resource", p011)
    case("POL012-wildcard-write", lambda p: role(p, "docs_ingest")["permissions"][0].update({"actions": ["*"]}))
    case("POL013-shadowed", lambda p: role(p, "rag_service")["permissions"].append(
        {"resource": "vectors/product_docs/faq", "actions": ["read"]}))
    case("POL014-exclusion-reopened", lambda p: role(p, "hr_analyst").update(
        {"data_filtering": {"exclude_collections": ["hr_records"]}}))

    def p021(p):
        c = role(p, "hr_admin")["conditions"]
        del c["mfa_required"]
        del c["authentication_method"]
    case("POL021-weak-auth", p021)
    case("POL022-escalation", lambda p: role(p, "docs_ingest")["permissions"].append(
        {"resource": "roles/*", "actions": ["create", "update"]}))

    # Inheriting the power to manage roles is escalation too (both roles are reported).
    case("POL022-inherited-escalation", lambda p: role(p, "hr_analyst")["permissions"].append(
        {"resource": "roles/*", "actions": ["manage_roles"]}))

    def p023(p):
        p["roles"].append({"name": "partner_reader", "role_type": "service",
                           "permissions": [{"resource": "vectors/product_docs/*", "actions": ["read"]}],
                           "conditions": {"authentication_method": "api-key"},
                           "rate_limits": {"requests_per_minute": 60, "vectors_per_request": 10}})
        p["role_bindings"].append({"name": "partner", "subjects": [
            {"kind": "APIKey", "name": "partner-search", "external": True}], "role_ref": "partner_reader"})
    case("POL023-external-api-key", p023)
    case("POL025-everyone", lambda p: p["role_bindings"][2]["subjects"].append({"kind": "Group", "name": "*"}))
    case("POL024-expired", lambda p: role(p, "hr_analyst")["conditions"].update({"expires_at": "2025-06-30"}))
    case("POL031-pii-off", lambda p: role(p, "hr_analyst")["conditions"].update({"pii_filtering": False}))
    case("POL032-cross-tenant", lambda p: role(p, "rag_service")["permissions"][1].update(
        {"resource": "vectors/user-specific/*"}))
    case("POL033-classification", lambda p: coll(p, "user_memories").update({"accessible_by": ["hr_admin"]}))
    case("POL034-accessible-by-all", lambda p: coll(p, "hr_records").update({"accessible_by": ["*"]}))
    case("POL035-weak-tls", lambda p: p["encryption"]["in_transit"].update({"tls_version": "1.1"}))
    case("POL036-encryption-off", lambda p: p["encryption"]["at_rest"].update({"enabled": False}))

    def p041(p):
        del p["default_rate_limits"]
        del role(p, "docs_ingest")["rate_limits"]
    case("POL041-no-rate-limit", p041)
    case("POL042-excessive-rate", lambda p: role(p, "rag_service")["rate_limits"].update({"requests_per_minute": 100000}))
    case("POL043-audit-off", lambda p: p["audit"].update({"enabled": False}))

    def p044(p):
        coll(p, "hr_records")["audit_all_access"] = False
        p["audit"]["events"] = ["write", "delete", "permission_change"]
    case("POL044-audit-gap", p044)
    case("POL045-retention", lambda p: p["audit"].update({"retention_days": 30}))
    case("POL046-alert-never", lambda p: p["audit"]["alerts"][0].update({"condition": "requests_per_minute > 5000"}))
    case("POL047-alert-unreadable", lambda p: p["audit"]["alerts"][1].update({"condition": "anomaly_score is high"}))
    case("POL051-no-default", lambda p: p.pop("default_decision"))
    case("POL052-undefined-collection", lambda p: role(p, "rag_service")["permissions"].append(
        {"resource": "vectors/faq/*", "actions": ["read"]}))
    case("POL052-undefined-role", lambda p: role(p, "hr_admin").update({"inherits": ["hr_analyst", "hr_lead"]}))
    case("POL052-undefined-action", lambda p: role(p, "docs_ingest")["permissions"][0].update(
        {"actions": ["create", "update", "reindex"]}))
    case("POL053-cycle", lambda p: role(p, "hr_analyst").update({"inherits": ["hr_admin"]}))
    case("POL054-duplicate-role", lambda p: p["roles"].append(copy.deepcopy(role(p, "docs_ingest"))))
    case("POL055-binding-undefined", lambda p: p["role_bindings"][1].update({"role_ref": "docs_ingester"}))
    case("POL061-always-true", lambda p: role(p, "rag_service")["conditions"].update({"ip_whitelist": ["0.0.0.0/0"]}))
    case("POL061-whole-day", lambda p: role(p, "hr_analyst")["conditions"]["time_based_access"].update(
        {"allowed_hours": "00:00-24:00"}))
    case("POL061-never-expires", lambda p: role(p, "hr_analyst")["conditions"].update({"expires_at": "9999-12-31"}))
    case("POL062-bad-hours", lambda p: role(p, "hr_analyst")["conditions"]["time_based_access"].update(
        {"allowed_hours": "25:00-26:00"}))
    case("POL062-bad-country", lambda p: p["dynamic_policies"][0]["conditions"]["geo_location"].update(
        {"denied_countries": ["US", "UK"]}))

    # Contradictory conditions: the permission's window never meets the role's.
    case("POL062-contradictory-hours", lambda p: role(p, "hr_analyst")["permissions"][0].update(
        {"conditions": {"time_based_access": {"allowed_hours": "20:00-23:00"}}}))

    def p063(p):
        geo = p["dynamic_policies"][0]["conditions"]["geo_location"]
        geo.pop("denied_countries")
        geo["allowed_countries"] = ["DE", "FR"]
    case("POL063-inverted", p063)
    case("POL063-inverted-window", lambda p: p["dynamic_policies"].append(
        {"name": "hr-after-hours", "applies_to": {"collections": ["hr_records"], "roles": ["hr_analyst"]},
         "conditions": {"time_of_day": "08:00-19:00"}, "action": "deny"}))
    case("POL071-inline-secret", lambda p: p["metadata"].update({"annotations": {
        "deploy-key": "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"}}))

    # Hostile input (not rule examples): invalid YAML, an alias bomb, deep nesting.
    bad = os.path.join(HERE, "hostile")
    dump(os.path.join(bad, "invalid.yaml"), "apiVersion: v1\nkind: Policy\nroles:\n  - name: a\n    permissions: [\n")
    bomb = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
    for i in range(9):
        prev = "a" if i == 0 else f"b{i-1}"
        bomb += f"b{i}: &b{i} [" + ", ".join([f"*{prev}"] * 10) + "]\n"
    dump(os.path.join(bad, "billion-laughs.yaml"), "kind: Policy\n" + bomb)
    dump(os.path.join(bad, "deep.yaml"), "kind: Policy\nroles: " + "[" * 5000 + "]" * 5000 + "\n")


K8S_TOML = """# Classification for the Kubernetes fixtures: NAMESPACE/RESOURCE globs.
[policy]
classification = { "vector-db/*" = "restricted", "rag/*" = "internal" }
"""

K8S_CLEAN = [
    {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
     "metadata": {"name": "rag-reader", "namespace": "rag"},
     "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}]},
    {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
     "metadata": {"name": "rag-reader", "namespace": "rag"},
     "subjects": [{"kind": "ServiceAccount", "name": "rag-app", "namespace": "rag"}],
     "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "rag-reader"}},
]


def kubernetes():
    d = os.path.join(HERE, "kubernetes")
    dump(os.path.join(d, "llmguard.toml"), K8S_TOML)
    dump(os.path.join(d, "clean.yaml"), K8S_CLEAN)

    def case(name, docs):
        dump(os.path.join(d, name + ".yaml"), copy.deepcopy(K8S_CLEAN) + docs)

    def role(name, rules, kind="Role", ns="vector-db", labels=None, agg=None):
        r = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": {"name": name}}
        if kind == "Role":
            r["metadata"]["namespace"] = ns
        if labels:
            r["metadata"]["labels"] = labels
        if agg:
            r["aggregationRule"] = {"clusterRoleSelectors": [{"matchLabels": agg}]}
        r["rules"] = rules
        return r

    case("POL001-unknown-key", [role("typo", [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"],
                                               "resourceName": ["settings"]}], ns="rag")])
    case("POL002-wrong-type", [role("odd-rules", "get everything", ns="rag")])
    text = yaml.safe_dump_all(copy.deepcopy(K8S_CLEAN), sort_keys=False, width=120)
    dump(os.path.join(d, "POL004-duplicate-key.yaml"), text.replace("  - get\n  - list\n", "  - get\n  - list\n  verbs:\n  - '*'\n", 1))
    case("POL071-inline-secret", [dict(role("deployer", [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}], ns="rag"),
                                       metadata={"name": "deployer", "namespace": "rag", "annotations": {"ci/openai-key":
        "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"}})])
    case("POL011-wildcard-resource", [role("all-reader", [{"apiGroups": ["weaviate.io"], "resources": ["*"], "verbs": ["get"]}])])
    case("POL012-wildcard-verbs", [role("collections-admin", [{"apiGroups": ["weaviate.io"], "resources": ["collections"], "verbs": ["*"]}], kind="ClusterRole")])
    case("POL012-cluster-admin-binding", [{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                                            "metadata": {"name": "ci-admin"},
                                            "subjects": [{"kind": "ServiceAccount", "name": "ci", "namespace": "ci"}],
                                            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"}}])
    case("POL013-shadowed", [role("shadow", [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]},
                                             {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}], ns="rag")])
    case("POL022-secrets", [role("secret-reader", [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}], ns="rag")])
    everyone = copy.deepcopy(K8S_CLEAN[1])
    everyone["metadata"]["name"] = "rag-reader-all"
    everyone["subjects"] = [{"kind": "Group", "name": "system:authenticated", "apiGroup": "rbac.authorization.k8s.io"}]
    case("POL025-everyone", [everyone])
    case("POL052-bad-verb", [role("odd", [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["fly"]}], ns="rag")])
    case("POL053-aggregation-cycle", [
        role("a", [], kind="ClusterRole", labels={"agg": "a"}, agg={"agg": "b"}),
        role("b", [], kind="ClusterRole", labels={"agg": "b"}, agg={"agg": "a"}),
    ])
    case("POL054-duplicate", [copy.deepcopy(K8S_CLEAN[0])])
    case("POL055-binding-undefined", [{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                                       "metadata": {"name": "ops"}, "subjects": [{"kind": "Group", "name": "ops"}],
                                       "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "ops-admin"}}])
    dump(os.path.join(d, "POL003-deployment.yaml"), {"apiVersion": "apps/v1", "kind": "Deployment",
                                                     "metadata": {"name": "web"}, "spec": {"replicas": 1}})


OS_TOML = """# Classification for the OpenSearch fixtures: index-name globs.
[policy]
classification = { "hr-*" = "restricted", "docs-*" = "public" }
"""

OS_CLEAN = {
    "_meta": {"type": "roles", "config_version": 2},
    "docs_reader": {"reserved": False, "cluster_permissions": ["cluster_composite_ops_ro"],
                    "index_permissions": [{"index_patterns": ["docs-*"], "allowed_actions": ["read"]}]},
    "hr_reader": {"index_permissions": [{"index_patterns": ["hr-*"], "allowed_actions": ["read"],
                                         "masked_fields": ["ssn", "salary"], "fls": ["~home_address"]}]},
}


def opensearch():
    d = os.path.join(HERE, "opensearch")
    dump(os.path.join(d, "llmguard.toml"), OS_TOML)
    dump(os.path.join(d, "roles.yml"), OS_CLEAN)

    def case(name, change):
        p = copy.deepcopy(OS_CLEAN)
        change(p)
        dump(os.path.join(d, name + ".yml"), p)

    case("POL011-wildcard-index", lambda p: p["hr_reader"]["index_permissions"][0].update({"index_patterns": ["*"]}))
    case("POL012-indices-all", lambda p: p["docs_reader"]["index_permissions"][0].update({"allowed_actions": ["indices_all"]}))
    case("POL022-security-admin", lambda p: p["docs_reader"].update({"cluster_permissions": ["restapi:admin/*"]}))
    case("POL031-no-masking", lambda p: [p["hr_reader"]["index_permissions"][0].pop(k) for k in ("masked_fields", "fls")])
    case("POL001-unknown-key", lambda p: p["hr_reader"]["index_permissions"][0].update(
        {"masked_field": p["hr_reader"]["index_permissions"][0].pop("masked_fields")}))
    case("POL002-wrong-type", lambda p: p["hr_reader"].update({"index_permissions": "all of hr"}))
    dump(os.path.join(d, "POL004-duplicate-key.yml"), yaml.safe_dump(OS_CLEAN, sort_keys=False, width=120) +
         "docs_reader:\n  index_permissions: [{index_patterns: ['*'], allowed_actions: [read]}]\n")
    case("POL013-shadowed", lambda p: p["docs_reader"]["index_permissions"].append(
        {"index_patterns": ["docs-*"], "allowed_actions": ["read"]}))
    case("POL052-unknown-action", lambda p: p["docs_reader"]["index_permissions"][0].update({"allowed_actions": ["teleport"]}))


    # roles_mapping.yml files are joined with the roles files of the directory.
    meta = {"_meta": {"type": "rolesmapping", "config_version": 2}}
    dump(os.path.join(d, "roles_mapping.yml"), dict(meta, docs_reader={"backend_roles": ["docs-team"]},
                                                    hr_reader={"backend_roles": ["hr"]}))
    dump(os.path.join(d, "POL025-mapping-everyone.yml"), dict(meta, hr_reader={"users": ["*"]}))
    dump(os.path.join(d, "POL055-mapping-undefined.yml"), dict(meta, hr_admin={"backend_roles": ["hr-admins"]}))


if __name__ == "__main__":
    native()
    kubernetes()
    opensearch()
