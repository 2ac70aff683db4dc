//! The deployment files: the cluster entrypoint maps a pod to its process id and the
//! cluster's addresses, and every `WEIR_*` variable the files set is one weir reads.
//! (The manifests are validated against the Kubernetes and Compose schemas by `.ci/run`.)

use std::collections::BTreeSet;
use std::process::Command;

use crate::support::example;

fn entrypoint(hostname: &str, replicas: &str) -> std::process::Output {
    Command::new("sh")
        .args([
            "deploy/entrypoint.sh",
            "sh",
            "-c",
            "echo \"$WEIR_PROCESS_ID $WEIR_ADDRESSES\"",
        ])
        .env("HOSTNAME", hostname)
        .env("WEIR_REPLICAS", replicas)
        .env("WEIR_SERVICE", "counts")
        .env("WEIR_DOMAIN", "weir.svc.cluster.local")
        .output()
        .expect("run sh")
}

#[test]
fn the_entrypoint_maps_a_pod_ordinal_and_the_service_to_the_cluster_flags() {
    let output = entrypoint("counts-2", "3");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        "2 counts-0.counts.weir.svc.cluster.local:2101;counts-1.counts.weir.svc.cluster.local:2101;\
         counts-2.counts.weir.svc.cluster.local:2101"
    );
    for (hostname, replicas, why) in [
        ("laptop", "3", "does not end in -ORDINAL"),
        ("counts-3", "3", "is not below WEIR_REPLICAS=3"),
    ] {
        let output = entrypoint(hostname, replicas);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{hostname}: {stderr}");
        assert!(stderr.contains(why), "{hostname}: {stderr}");
    }
}

#[test]
fn every_weir_variable_the_deployment_sets_is_one_weir_reads() {
    let help = Command::new(example("served_counts"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    let entrypoint = std::fs::read_to_string("deploy/entrypoint.sh").unwrap();
    let mut set = BTreeSet::new();
    for file in ["deploy/k8s/statefulset.yaml", "deploy/compose.yaml"] {
        let text = std::fs::read_to_string(file).unwrap();
        for (at, _) in text.match_indices("WEIR_") {
            let name: String = text[at..]
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || *c == '_')
                .collect();
            set.insert(name);
        }
    }
    assert!(set.contains("WEIR_RECOVERY_DIRECTORY"), "{set:?}");
    for name in set {
        let read = help.contains(&format!("env: {name}="))
            || entrypoint.contains(&format!("${{{name}"))
            || ["WEIR_PROCESS_ID", "WEIR_ADDRESSES"].contains(&name.as_str());
        assert!(read, "{name} is set by the deployment but read by nothing");
    }
}
