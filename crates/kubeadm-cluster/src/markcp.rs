//! The `mark-control-plane` phase (upstream `phases/markcontrolplane` + `apiclient.PatchNode`):
//! wait for the Node (it must exist and carry `kubernetes.io/hostname`), then add the labels
//! `node-role.kubernetes.io/control-plane: ""` and
//! `node.kubernetes.io/exclude-from-external-load-balancers: ""` and set the taints (the
//! configured ones first, then the node's other existing taints) with a strategic merge patch;
//! everything retried every 500ms until the API call timeout.

use std::io::Write;

use k8s_openapi::api::core::v1::{Node, Taint as K8sTaint};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::Client;
use kube::api::{Api, Patch, PatchParams};
use kubeadm_api::constants;
use kubeadm_api::v1beta4::Taint;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::client::{ApiTimeouts, Attempt, poll_until_timeout};
use crate::error::{Error, Result, is_not_found};

/// The labels added to control-plane nodes, in upstream's order (`labelsToAdd`).
pub const LABELS_TO_ADD: [&str; 2] =
    [constants::LABEL_NODE_ROLE_CONTROL_PLANE, constants::LABEL_EXCLUDE_FROM_EXTERNAL_LB];

/// `kubernetes.io/hostname`: the label `PatchNode` waits for.
pub const LABEL_HOSTNAME: &str = "kubernetes.io/hostname";

/// The taints to apply: `nodeRegistration.taints`, or the control-plane `NoSchedule` taint when
/// unset (`None`); `Some([])` means none.
pub fn effective_taints(configured: Option<&[Taint]>) -> Vec<Taint> {
    match configured {
        Some(t) => t.to_vec(),
        None => vec![constants::control_plane_taint()],
    }
}

/// The kubeadm taint as a core/v1 taint.
pub fn to_k8s_taint(t: &Taint) -> Result<K8sTaint> {
    let time_added = match &t.time_added {
        Some(s) => Some(Time(s.parse::<k8s_openapi::jiff::Timestamp>().map_err(|e| Error::Time {
            field: "taints.timeAdded".into(),
            value: s.clone(),
            message: e.to_string(),
        })?)),
        None => None,
    };
    Ok(K8sTaint {
        key: t.key.clone(),
        value: (!t.value.is_empty()).then(|| t.value.clone()),
        effect: t.effect.clone(),
        time_added,
    })
}

/// The strategic merge patch upstream's `CreateTwoWayMergePatch` yields for
/// `markControlPlaneNode`: the labels that change and, if the taint list changes, the whole new
/// list (`spec.taints` has no merge key, so it is replaced).
pub fn mark_control_plane_patch(node: &Node, taints: &[K8sTaint]) -> serde_json::Value {
    let mut labels = serde_json::Map::new();
    let current = node.metadata.labels.clone().unwrap_or_default();
    for l in LABELS_TO_ADD {
        if current.get(l).map(String::as_str) != Some("") {
            labels.insert(l.to_string(), "".into());
        }
    }
    let old: Vec<K8sTaint> = node.spec.as_ref().and_then(|s| s.taints.clone()).unwrap_or_default();
    let mut new: Vec<K8sTaint> = taints.to_vec();
    for t in &old {
        if !taints.contains(t) {
            new.push(t.clone());
        }
    }
    let mut patch = serde_json::Map::new();
    if !labels.is_empty() {
        patch.insert("metadata".into(), serde_json::json!({ "labels": labels }));
    }
    if new != old {
        let v = if new.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::to_value(&new).unwrap_or_default()
        };
        patch.insert("spec".into(), serde_json::json!({ "taints": v }));
    }
    serde_json::Value::Object(patch)
}

/// Upstream `MarkControlPlane(client, nodeName, taints)` with `taints` =
/// `nodeRegistration.taints` (`None` = default control-plane taint). Prints the labels (and, if
/// any, the taints) line(s), then patches the node, waiting for it as upstream.
pub async fn mark_control_plane(
    client: &Client,
    node_name: &str,
    taints: Option<&[Taint]>,
    t: &ApiTimeouts,
    out: &mut (dyn Write + Send),
) -> Result<()> {
    let taints = effective_taints(taints);
    writeln!(
        out,
        "[mark-control-plane] Marking the node {node_name} as control-plane by adding the labels: [{}]",
        LABELS_TO_ADD.join(" ")
    )?;
    if !taints.is_empty() {
        let strs: Vec<String> = taints.iter().map(Taint::to_string).collect();
        writeln!(
            out,
            "[mark-control-plane] Marking the node {node_name} as control-plane by adding the taints [{}]",
            strs.join(" ")
        )?;
    }
    let k8s_taints = taints.iter().map(to_k8s_taint).collect::<Result<Vec<_>>>()?;
    patch_node(client, node_name, t, |node| mark_control_plane_patch(node, &k8s_taints)).await
}

/// Upstream `PatchNode`: until the API call timeout, get the node, wait for its hostname label,
/// compute the patch with `make_patch` and send it as a strategic merge patch.
pub async fn patch_node<F>(client: &Client, node_name: &str, t: &ApiTimeouts, make_patch: F) -> Result<()>
where
    F: Fn(&Node) -> serde_json::Value,
{
    let api: Api<Node> = Api::all(client.clone());
    let make_patch = &make_patch;
    let what = format!("patch Node {node_name:?}");
    let r = poll_until_timeout(&what, t.retry_interval, t.api_call, || {
        let api = api.clone();
        async move {
            let node = match api.get(node_name).await {
                Ok(n) => n,
                Err(e) => {
                    let not_found = is_not_found(&e);
                    let err = Error::Api {
                        verb: "get",
                        kind: "Node".into(),
                        target: format!("{node_name:?}"),
                        source: Box::new(e),
                    };
                    return if not_found { Attempt::Wait } else { Attempt::Retry(err) };
                }
            };
            if !node.metadata.labels.as_ref().is_some_and(|l| l.contains_key(LABEL_HOSTNAME)) {
                return Attempt::Wait;
            }
            let patch = make_patch(&node);
            match api.patch(node_name, &PatchParams::default(), &Patch::Strategic(&patch)).await {
                Ok(_) => Attempt::Done(()),
                Err(e) => Attempt::Retry(
                    Error::Api {
                        verb: "patch",
                        kind: "Node".into(),
                        target: format!("{node_name:?}"),
                        source: Box::new(e),
                    }
                    .context(format!("error patching Node {node_name:?}")),
                ),
            }
        }
    })
    .await;
    match r {
        Err(Error::Timeout { timeout, .. }) => {
            Err(Error::NodeNotReady { node: node_name.to_string(), timeout })
        }
        other => other,
    }
}

/// Parses an RFC 3339 time (helper for callers building taints).
pub fn parse_time(s: &str) -> Result<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).map_err(|e| Error::Time {
        field: "time".into(),
        value: s.into(),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::NodeSpec;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    use serde_json::json;

    fn node(labels: &[(&str, &str)], taints: Vec<K8sTaint>) -> Node {
        Node {
            metadata: ObjectMeta {
                name: Some("n1".into()),
                labels: Some(labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()),
                ..Default::default()
            },
            spec: Some(NodeSpec { taints: (!taints.is_empty()).then_some(taints), ..Default::default() }),
            ..Default::default()
        }
    }

    fn kt(key: &str, effect: &str) -> K8sTaint {
        K8sTaint { key: key.into(), effect: effect.into(), ..Default::default() }
    }

    #[test]
    fn taint_strings() {
        let t = |k: &str, v: &str, e: &str| Taint {
            key: k.into(),
            value: v.into(),
            effect: e.into(),
            time_added: None,
        };
        assert_eq!(t("a", "", "").to_string(), "a");
        assert_eq!(t("a", "b", "").to_string(), "a=b:");
        assert_eq!(t("a", "", "NoSchedule").to_string(), "a:NoSchedule");
        assert_eq!(t("a", "b", "NoExecute").to_string(), "a=b:NoExecute");
        assert_eq!(
            effective_taints(None).iter().map(Taint::to_string).collect::<Vec<_>>(),
            ["node-role.kubernetes.io/control-plane:NoSchedule"]
        );
        assert!(effective_taints(Some(&[])).is_empty());
    }

    #[test]
    fn patches() {
        let cp = kt("node-role.kubernetes.io/control-plane", "NoSchedule");
        let n = node(&[("kubernetes.io/hostname", "n1")], vec![]);
        assert_eq!(
            mark_control_plane_patch(&n, std::slice::from_ref(&cp)),
            json!({"metadata": {"labels": {"node-role.kubernetes.io/control-plane": "", "node.kubernetes.io/exclude-from-external-load-balancers": ""}},
                   "spec": {"taints": [{"effect": "NoSchedule", "key": "node-role.kubernetes.io/control-plane"}]}})
        );
        // Existing taints are kept after the configured ones; nothing to do when already marked.
        let other = kt("foo", "NoExecute");
        let n = node(
            &[("kubernetes.io/hostname", "n1"), (LABELS_TO_ADD[0], ""), (LABELS_TO_ADD[1], "")],
            vec![other.clone()],
        );
        assert_eq!(
            mark_control_plane_patch(&n, std::slice::from_ref(&cp)),
            json!({"spec": {"taints": [{"effect": "NoSchedule", "key": "node-role.kubernetes.io/control-plane"}, {"effect": "NoExecute", "key": "foo"}]}})
        );
        let n = node(&[(LABELS_TO_ADD[0], ""), (LABELS_TO_ADD[1], "")], vec![cp.clone()]);
        assert_eq!(mark_control_plane_patch(&n, std::slice::from_ref(&cp)), json!({}));
        // No taints configured: labels only.
        let n = node(&[], vec![]);
        assert!(mark_control_plane_patch(&n, &[]).get("spec").is_none());
    }
}
